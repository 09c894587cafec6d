import { type FitPlanInfo, TensorloopError, type Time } from '@tensorloop/core';
import type { Span } from './schedules.js';

/** What a schedule's position counts: optimizer steps or epochs. */
export type Every = 'step' | 'epoch';
/** What one span is: the current `fit()`, the current stage (`time.stage`), or the whole run. */
export type Over = 'fit' | 'stage' | 'run';

/** The part of a schedule plugin's state that places it in time (JSON). */
export interface SpanState {
  /** Micro-batches per optimizer step, learned from the first step (gradient accumulation). */
  microBatchesPerStep: number | null;
  /** The stage the span started in, and where (global step and epoch). */
  stage: number | null;
  stageStartStep: number;
  stageStartEpoch: number;
}

export function initialSpanState(): SpanState {
  return { microBatchesPerStep: null, stage: null, stageStartStep: 0, stageStartEpoch: 0 };
}

export function isSpanState(value: unknown): value is SpanState {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  const intOrNull = (x: unknown) => x === null || (typeof x === 'number' && Number.isInteger(x));
  return (
    intOrNull(v.microBatchesPerStep) &&
    intOrNull(v.stage) &&
    typeof v.stageStartStep === 'number' &&
    typeof v.stageStartEpoch === 'number'
  );
}

/** Optimizer steps or epochs the current fit plans, or undefined while its length is unknown. */
export function fitUnits(plan: FitPlanInfo | undefined, every: Every, state: SpanState): number | undefined {
  if (plan === undefined) return undefined;
  if (every === 'epoch') return plan.epochs;
  if (plan.stepsPerEpoch === undefined) return undefined;
  // An accumulation window cut by the end of an epoch still steps: ceil.
  const k = state.microBatchesPerStep ?? 1;
  return plan.epochs * Math.ceil(plan.stepsPerEpoch / k);
}

/** Called at the start of a fit: a new stage starts its span here. */
export function enterFit(state: SpanState, time: Time, resumed: boolean): void {
  if (resumed && state.stage !== null) return;
  if (state.stage !== time.stage) {
    state.stage = time.stage;
    state.stageStartStep = time.step;
    state.stageStartEpoch = time.epoch;
  }
}

/** Learns micro-batches per optimizer step from the first step of the run. */
export function observeBatch(
  state: SpanState,
  pending: { count: number },
  skipped: boolean,
  stepped: boolean,
): void {
  if (skipped) return;
  pending.count += 1;
  if (stepped) {
    state.microBatchesPerStep ??= pending.count;
    pending.count = 0;
  }
}

/**
 * Where the schedule is now. Pure in `time`, the plan and the span state: the value at a step
 * never depends on how many times a hook ran, so it cannot step at the wrong time.
 */
export function currentSpan(
  time: Time,
  plan: FitPlanInfo | undefined,
  options: { every: Every; over: Over; total: number | undefined; owner: string },
  state: SpanState,
): Span {
  const { every, over } = options;
  const inFit = every === 'step' ? time.fitStep : time.fitEpoch;
  const global = every === 'step' ? time.step : time.epoch;
  const fitStart = global - inFit;
  const units = fitUnits(plan, every, state);
  const index =
    over === 'fit'
      ? inFit
      : over === 'run'
        ? global
        : global - (every === 'step' ? state.stageStartStep : state.stageStartEpoch);
  let total = options.total;
  if (total === undefined) {
    if (units === undefined) {
      throw new TensorloopError(
        'TL_SCHEDULE_INVALID',
        `[${options.owner}] cannot place a per-step schedule: the fit's steps per epoch are unknown (an iterable without a length). Pass stepsPerEpoch to fit(), or total (in steps) to the schedule.`,
        { plugin: options.owner },
      );
    }
    const before =
      over === 'fit'
        ? 0
        : over === 'run'
          ? fitStart
          : fitStart - (every === 'step' ? state.stageStartStep : state.stageStartEpoch);
    total = before + units;
  }
  return { index, total };
}
