import type * as tf from '@tensorflow/tfjs';
import {
  checkOptionKeys,
  type DataInput,
  describeValue,
  formatHparam,
  type LossSpec,
  type Plugin,
  readState,
  stop,
  TensorloopError,
  Trainer,
} from '@tensorloop/core';
import { PACKAGE } from './schedule-plugin.js';
import { type LrSuggestions, suggest } from './suggestions.js';

export interface LrFinderOptions {
  /** First learning rate. Default 1e-7 (fastai). */
  readonly start?: number;
  /** Last learning rate. Default 10 (fastai). */
  readonly end?: number;
  /** Optimizer steps in the sweep (fastai `num_it`). Default 100. */
  readonly steps?: number;
  /** Stop once the smoothed loss exceeds `stopDiv ×` the best one. Default 4 (fastai). */
  readonly stopDiv?: number;
  /** β of the debiased moving average of the loss. Default 0.98 (fastai). */
  readonly smooth?: number;
  /** Default `@tensorloop/lr-schedules:lr-finder`. */
  readonly name?: string;
}

export interface LrFinderPoint {
  readonly lr: number;
  /** Smoothed loss. */
  readonly loss: number;
  /** The batch loss as measured. */
  readonly raw: number;
}

export interface LrFinderResult {
  /** One point per optimizer step of the sweep: the curve to plot (log-x). */
  readonly curve: readonly LrFinderPoint[];
  /** Undefined when the sweep recorded fewer than 2 points. */
  readonly suggestions: LrSuggestions | undefined;
  /** `diverged` (loss > stopDiv × best, or not finite), `steps` (sweep done), or `data` (the data ran out first). */
  readonly stoppedBy: 'diverged' | 'steps' | 'data';
  /** Lowest smoothed loss and its lr. */
  readonly best: { readonly lr: number; readonly loss: number } | undefined;
}

export interface LrFinderState {
  readonly iteration: number;
  readonly avg: number;
  readonly best: number | null;
  readonly points: readonly LrFinderPoint[];
  readonly stoppedBy: 'diverged' | 'steps' | null;
}

export interface LrFinderApi {
  /** The curve so far and the suggestions. */
  readonly result: () => LrFinderResult;
}

function invalid(message: string): never {
  throw new TensorloopError('TL_OPTION_INVALID', message);
}

const FINDER_OPTIONS = ['start', 'end', 'steps', 'stopDiv', 'smooth', 'name'];

const isNumber = (v: unknown): v is number => typeof v === 'number';

function resolveOptions(options: LrFinderOptions) {
  const start = options.start ?? 1e-7;
  const end = options.end ?? 10;
  const steps = options.steps ?? 100;
  const stopDiv = options.stopDiv ?? 4;
  const smooth = options.smooth ?? 0.98;
  // typeof first: comparing an object converts it, which throws for one without a prototype.
  if (!(isNumber(start) && isNumber(end) && start > 0 && end > start && Number.isFinite(end)))
    invalid(`lrFinder needs 0 < start < end, got start ${describeValue(start)}, end ${describeValue(end)}.`);
  if (!(Number.isInteger(steps) && steps >= 2))
    invalid(`lrFinder steps must be an integer ≥ 2, got ${describeValue(steps)}.`);
  if (!(isNumber(stopDiv) && stopDiv > 1))
    invalid(`lrFinder stopDiv must be > 1, got ${describeValue(stopDiv)}.`);
  if (!(isNumber(smooth) && smooth >= 0 && smooth < 1))
    invalid(`lrFinder smooth must be in [0, 1), got ${describeValue(smooth)}.`);
  return { start, end, steps, stopDiv, smooth };
}

/**
 * The LR range test as a plugin: lr grows exponentially from `start` to `end` over `steps` optimizer
 * steps (fastai `LRFinder`), the smoothed loss is recorded per step, and the fit stops when it
 * explodes. It trains the model: use `findLr()` to run it on a copy of the trainer's state.
 */
export function lrFinder(options: LrFinderOptions = {}): Plugin & { readonly api: LrFinderApi } {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `lrFinder(options): options must be an object such as { start: 1e-7, end: 10 }; got ${JSON.stringify(options) ?? typeof options}.`,
    );
  }
  checkOptionKeys('lrFinder()', options, FINDER_OPTIONS);
  const { start, end, steps, stopDiv, smooth } = resolveOptions(options);
  const name = options.name ?? `${PACKAGE}:lr-finder`;
  let iteration = 0;
  let avg = 0;
  let best: number | null = null;
  let points: LrFinderPoint[] = [];
  let stoppedBy: 'diverged' | 'steps' | null = null;

  const lrAt = (i: number) => start * (end / start) ** (i / steps);

  const result = (): LrFinderResult => {
    let bestPoint: LrFinderPoint | undefined;
    for (const p of points)
      if (Number.isFinite(p.loss) && (!bestPoint || p.loss < bestPoint.loss)) bestPoint = p;
    const finite = points.filter((p) => Number.isFinite(p.loss));
    return {
      curve: points.map((p) => ({ ...p })),
      suggestions:
        finite.length >= 2
          ? suggest(
              finite.map((p) => p.lr),
              finite.map((p) => p.loss),
              steps,
            )
          : undefined,
      stoppedBy: stoppedBy ?? 'data',
      best: bestPoint ? { lr: bestPoint.lr, loss: bestPoint.loss } : undefined,
    };
  };

  return {
    name,
    needsBatchLogs: true,
    hparams: [{ name: 'lr', mode: 'set' }],
    api: { result },
    describe: () => [
      `lr range test: ${formatHparam(start)} → ${formatHparam(end)} over ${steps} steps, stops at ${stopDiv}× the best smoothed loss`,
    ],
    onFitStart(_ctx, e) {
      if (e.resumed) return;
      iteration = 0;
      avg = 0;
      best = null;
      points = [];
      stoppedBy = null;
    },
    onBatchStart: {
      order: 'pre',
      handler(ctx) {
        if (stoppedBy !== null) return stop(`lr range test already finished (${stoppedBy})`);
        ctx.hparams.set('lr', lrAt(iteration));
      },
    },
    onBatchEnd(ctx, e) {
      if (e.skipped || !e.stepped || e.logs?.loss === undefined) return;
      const raw = e.logs.loss;
      const lr = lrAt(iteration);
      iteration += 1;
      avg = smooth * avg + (1 - smooth) * raw;
      const loss = avg / (1 - smooth ** iteration);
      points.push({ lr, loss, raw });
      if (Number.isFinite(loss) && (best === null || loss < best)) best = loss;
      if (!Number.isFinite(loss) || (best !== null && loss > stopDiv * best)) {
        stoppedBy = 'diverged';
        ctx.logger.info(
          `loss diverged at lr ${formatHparam(lr)} (smoothed ${loss.toPrecision(4)} > ${stopDiv} × best ${best?.toPrecision(4)})`,
        );
        return stop(`lr range test: loss diverged at lr ${formatHparam(lr)}`);
      }
      if (iteration >= steps) {
        stoppedBy = 'steps';
        return stop(`lr range test: ${steps} steps done`);
      }
    },
    state: (): LrFinderState => ({
      iteration,
      avg,
      best,
      points: points.map((p) => ({
        ...p,
        loss: Number.isFinite(p.loss) ? p.loss : Number.MAX_VALUE,
        raw: Number.isFinite(p.raw) ? p.raw : Number.MAX_VALUE,
      })),
      stoppedBy,
    }),
    parseState: (saved): LrFinderState => {
      const s = readState(saved, name);
      return {
        iteration: s.integer('iteration', { min: 0 }),
        avg: s.number('avg'),
        best: s.number('best', { nullable: true }),
        points: s.objects('points', (p) => ({
          lr: p.number('lr'),
          loss: p.number('loss'),
          raw: p.number('raw'),
        })),
        stoppedBy:
          s.string('stoppedBy', { nullable: true }) === null
            ? null
            : s.oneOf('stoppedBy', ['diverged', 'steps']),
      };
    },
    loadState(s: LrFinderState) {
      iteration = s.iteration;
      avg = s.avg;
      best = s.best ?? null;
      points = s.points.map((p) => ({ ...p }));
      stoppedBy = s.stoppedBy ?? null;
    },
  };
}

export interface FindLrOptions extends LrFinderOptions {
  /** The loss to train with. Default: the trainer's loss when it is a name; required for a custom loss function. */
  readonly loss?: LossSpec;
  /** For tensor data. Default 32. */
  readonly batchSize?: number;
  /** Batches per epoch, for endless iterables. */
  readonly stepsPerEpoch?: number;
  /** Default true. */
  readonly shuffle?: boolean;
  /** Seeds the shuffle. Default 0. */
  readonly seed?: number;
}

function tensorRows(data: DataInput): number | undefined {
  const d = data as { x?: unknown; y?: { shape?: unknown } };
  if (d && typeof d === 'object' && 'x' in d && 'y' in d && Array.isArray(d.y?.shape)) {
    return (d.y as tf.Tensor).shape[0];
  }
  return undefined;
}

/**
 * Run the LR range test on a copy of the trainer's state: `trainer.snapshot()`, a sweep by a
 * temporary Trainer on the same model and optimizer, then `trainer.restore()` — weights, optimizer
 * state, time and hyperparameters are as before, whatever happens. Returns the curve and fastai's
 * suggestions (`valley` is the usual pick).
 */
export async function findLr(
  trainer: Trainer,
  data: DataInput,
  options: FindLrOptions = {},
): Promise<LrFinderResult> {
  if (!(trainer instanceof Trainer)) invalid('findLr(trainer, data): the first argument must be a Trainer.');
  checkOptionKeys('findLr()', options, [
    ...FINDER_OPTIONS,
    'loss',
    'batchSize',
    'stepsPerEpoch',
    'shuffle',
    'seed',
  ]);
  const finderOptions = Object.fromEntries(
    Object.entries(options).filter(([k]) => FINDER_OPTIONS.includes(k)),
  );
  const finder = lrFinder(finderOptions as LrFinderOptions);
  const steps = options.steps ?? 100;
  const batchSize = options.batchSize ?? 32;
  const snapshot = await trainer.snapshot();
  try {
    const loss = options.loss ?? (snapshot.json.loss as LossSpec | null) ?? undefined;
    if (loss === undefined) {
      invalid(
        'findLr: this trainer uses a custom loss function, which findLr cannot read back. Pass it: findLr(trainer, data, { loss }).',
      );
    }
    const userValues: Record<string, number> = {};
    for (const n of trainer.hparams.names()) {
      if (trainer.hparams.groups(n).length === 0) userValues[n] = trainer.hparams.get(n);
    }
    const sweep = new Trainer({
      model: trainer.model,
      optimizer: trainer.optimizer,
      loss,
      plugins: [finder],
      hparams: userValues,
      seed: options.seed ?? 0,
      log: 'silent',
    });
    const rows = tensorRows(data);
    const perEpoch = options.stepsPerEpoch ?? (rows === undefined ? undefined : Math.ceil(rows / batchSize));
    const epochs = perEpoch === undefined ? steps : Math.ceil(steps / perEpoch);
    await sweep.fit(data, {
      epochs,
      batchSize,
      shuffle: options.shuffle ?? true,
      ...(options.stepsPerEpoch === undefined ? {} : { stepsPerEpoch: options.stepsPerEpoch }),
    });
    return finder.api.result();
  } finally {
    try {
      await trainer.restore(snapshot);
    } finally {
      snapshot.dispose();
    }
  }
}
