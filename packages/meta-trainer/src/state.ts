import { readState, type StopReason, TensorloopError, type Time } from '@tensorloop/core';
import { META_TRAINER } from './names.js';

/** One evaluation of every stream, after stage `stage` (−1: before any training). */
export interface EvaluationRecord {
  readonly stage: number;
  readonly name: string;
  /** Global optimizer step and epoch when it ran (the x axis of the metric series). */
  readonly step: number;
  readonly epoch: number;
  /** Per stream, in the order the streams were given. */
  readonly streams: readonly { readonly accuracy: readonly number[]; readonly loss: readonly number[] }[];
}

/** The streams evaluated: names and samples per experience. */
export type StreamLayout = readonly { readonly name: string; readonly samples: readonly number[] }[];

/** What `@tensorloop/meta-trainer` writes into every trainer checkpoint. */
export interface MetaTrainerState {
  /** The current stage (after a stage ended: the next one). */
  readonly stage: number;
  readonly stageName: string | null;
  /** True from the stage's start to its end (its fits and its evaluation). */
  readonly inStage: boolean;
  /** Fits of the current stage that returned. */
  readonly fitsDone: number;
  /** `fitIndex` of the current stage's first fit (its epochs in `history`). */
  readonly firstFit: number;
  /** The streams evaluated (empty without evaluation). */
  readonly layout: StreamLayout;
  /** Every evaluation so far, in order. Non-finite losses are saved as null and read back as NaN. */
  readonly evaluations: readonly EvaluationRecord[];
  /** Set when a plugin asked to stop the run in the current stage. */
  readonly runStop: { readonly message: string } | null;
  /** The stop that ended the current (or last) stage's last fit early. */
  readonly stageStop: StopReason | null;
}

export const initialState = (): MetaTrainerState => ({
  stage: 0,
  stageName: null,
  inStage: false,
  fitsDone: 0,
  firstFit: 0,
  layout: [],
  evaluations: [],
  runStop: null,
  stageStop: null,
});

/** JSON turns NaN into null; losses read back as NaN (everything else must be a number). */
function lossNullsToNaN(saved: unknown): unknown {
  const evaluations = (saved as { evaluations?: unknown } | null)?.evaluations;
  if (!Array.isArray(evaluations)) return saved;
  return {
    ...(saved as object),
    evaluations: evaluations.map((e) => {
      const streams = (e as { streams?: unknown } | null)?.streams;
      if (!Array.isArray(streams)) return e;
      return {
        ...(e as object),
        streams: streams.map((r) => {
          const loss = (r as { loss?: unknown } | null)?.loss;
          return Array.isArray(loss)
            ? { ...(r as object), loss: loss.map((v) => (v === null ? Number.NaN : v)) }
            : r;
        }),
      };
    }),
  };
}

/** Checks a saved state field by field (`TL_CHECKPOINT_INVALID` naming the field). */
export function parseMetaState(saved: unknown): MetaTrainerState {
  const s = readState(lossNullsToNaN(saved), META_TRAINER);
  const state: MetaTrainerState = {
    stage: s.integer('stage', { min: 0 }),
    stageName: s.string('stageName', { nullable: true }),
    inStage: s.boolean('inStage'),
    fitsDone: s.integer('fitsDone', { min: 0 }),
    firstFit: s.integer('firstFit', { min: 0 }),
    layout: s.objects('layout', (l) => ({ name: l.string('name'), samples: l.numbers('samples') })),
    evaluations: s.objects('evaluations', (e) => ({
      stage: e.integer('stage', { min: -1 }),
      name: e.string('name'),
      step: e.integer('step', { min: 0 }),
      epoch: e.integer('epoch', { min: 0 }),
      streams: e.objects('streams', (r) => ({ accuracy: r.numbers('accuracy'), loss: r.numbers('loss') })),
    })),
    runStop: s.object('runStop', (r) => ({ message: r.string('message') }), { nullable: true }),
    stageStop: s.object(
      'stageStop',
      (r) => ({
        by: r.string('by'),
        message: r.string('message'),
        hook: r.string('hook'),
        time: r.numberRecord('time') as unknown as Time,
      }),
      { nullable: true },
    ),
  };
  checkConsistent(state);
  return state;
}

function checkConsistent(state: MetaTrainerState): void {
  state.evaluations.forEach((e, i) => {
    const fits =
      e.streams.length === state.layout.length &&
      e.streams.every(
        (r, k) =>
          r.accuracy.length === state.layout[k]!.samples.length && r.loss.length === r.accuracy.length,
      );
    if (!fits) {
      throw new TensorloopError(
        'TL_CHECKPOINT_INVALID',
        `[${META_TRAINER}] the checkpoint's state.evaluations[${i}] does not match its stream layout (${state.layout
          .map((l) => `${l.name}: ${l.samples.length} experiences`)
          .join(', ')}). Resume from a checkpoint this run wrote.`,
        { plugin: META_TRAINER },
      );
    }
  });
}
