import { readState, StateReader } from '@tensorloop/core';
import { PLUGIN_NAME } from './errors.js';
import type { ActiveLrSchedule } from './lr-schedule.js';
import type { TransitionReason } from './transitions.js';

/** One transition, as recorded in the state and the API. */
export interface TransitionRecord {
  /** The depth the run moved to. */
  readonly depth: number;
  /** The global epoch at whose start it happened. */
  readonly epoch: number;
  readonly reason: TransitionReason;
  /** Epoch of the best weights put back first (`restoreBest`), or null. */
  readonly restoredBestEpoch: number | null;
}

/** The checkpointed state (`trainer.json`); the best weights go in `plugins.bin` (`stateTensors`). */
export interface FinetuneSchedulerState {
  readonly format: 1;
  readonly depth: number;
  readonly maxDepth: number;
  readonly monitor: string;
  readonly mode: 'min' | 'max' | null;
  readonly phaseComplete: boolean;
  readonly wait: number;
  readonly best: number | null;
  readonly bestEpoch: number | null;
  /** Epoch of the best weights held in `stateTensors`, or null. */
  readonly bestWeightsEpoch: number | null;
  readonly restores: number;
  readonly transitions: readonly TransitionRecord[];
  readonly lrSchedule: ActiveLrSchedule | null;
  /** The weights of phases 0..depth, so a resume can check the schedule still thaws the same ones. */
  readonly phases: readonly (readonly string[])[];
}

function strings(value: unknown, path: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw StateReader.invalid(PLUGIN_NAME, path, 'an array of weight names', value);
  }
  return [...value];
}

/** Reads saved state field by field (a checkpoint is untrusted). */
export function parseState(saved: unknown): FinetuneSchedulerState {
  const s = readState(saved, PLUGIN_NAME);
  if (s.integer('format') !== 1) throw StateReader.invalid(PLUGIN_NAME, 'state.format', '1', saved);
  const depth = s.integer('depth', { min: 0 });
  const mode = (saved as { mode?: unknown }).mode === null ? null : s.oneOf('mode', ['min', 'max'] as const);
  const phasesRaw = (saved as { phases?: unknown }).phases;
  if (!Array.isArray(phasesRaw) || phasesRaw.length !== depth + 1) {
    throw StateReader.invalid(
      PLUGIN_NAME,
      'state.phases',
      `an array of ${depth + 1} weight lists`,
      phasesRaw,
    );
  }
  // -1: an implicit schedule not resolved yet (saved before any fit).
  const maxDepth = s.integer('maxDepth', { min: -1 });
  if (maxDepth >= 0 && maxDepth < depth) {
    throw StateReader.invalid(PLUGIN_NAME, 'state.maxDepth', `-1 or an integer ≥ depth (${depth})`, maxDepth);
  }
  return {
    format: 1,
    depth,
    maxDepth,
    monitor: s.string('monitor'),
    mode,
    phaseComplete: s.boolean('phaseComplete'),
    wait: s.integer('wait', { min: 0 }),
    best: s.number('best', { nullable: true }),
    bestEpoch: s.integer('bestEpoch', { nullable: true, min: 0 }),
    bestWeightsEpoch: s.integer('bestWeightsEpoch', { nullable: true, min: 0 }),
    restores: s.integer('restores', { min: 0 }),
    transitions: s.objects('transitions', (t) => ({
      depth: t.integer('depth', { min: 1 }),
      epoch: t.integer('epoch', { min: 0 }),
      reason: t.oneOf('reason', ['earlyStopping', 'maxTransitionEpoch'] as const),
      restoredBestEpoch: t.integer('restoredBestEpoch', { nullable: true, min: 0 }),
    })),
    lrSchedule: s.object(
      'lrSchedule',
      (l) => ({
        phase: l.integer('phase', { min: 1 }),
        every: l.oneOf('every', ['epoch', 'step'] as const),
        startEpoch: l.integer('startEpoch', { min: 0 }),
        startStep: l.integer('startStep', { min: 0 }),
        total: l.integer('total', { min: 1 }),
        bases: l.numberRecord('bases'),
      }),
      { nullable: true },
    ),
    phases: phasesRaw.map((p, i) => strings(p, `state.phases[${i}]`)),
  };
}
