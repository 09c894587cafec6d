/**
 * The one time model every plugin shares (DESIGN §2). Global counters count completed units and
 * never reset: they continue across `fit()` calls on the same trainer.
 */
export interface Time {
  /** Index of the current epoch (= epochs completed before it). After a fit: epochs completed. */
  readonly epoch: number;
  /** Optimizer steps completed. A skipped step does not advance it. */
  readonly step: number;
  /** Micro-batches consumed (differs from `step` under gradient accumulation or skipped steps). */
  readonly batch: number;
  /** Training samples consumed. */
  readonly sample: number;
  /** Index of the current `fit()` call, from 0. */
  readonly fitIndex: number;
  /** Epoch index inside the current fit. */
  readonly fitEpoch: number;
  /** Optimizer steps completed inside the current fit. */
  readonly fitStep: number;
  /** Micro-batch index inside the current epoch. */
  readonly epochBatch: number;
  /** Stage index, set by a multi-stage driver (meta-trainer); 0 otherwise. */
  readonly stage: number;
  /** Progress through the current fit's planned duration, in [0, 1]. */
  readonly fraction: number;
}

export type MutableTime = { -readonly [K in keyof Time]: Time[K] };

export function initialTime(): MutableTime {
  return {
    epoch: 0,
    step: 0,
    batch: 0,
    sample: 0,
    fitIndex: -1,
    fitEpoch: 0,
    fitStep: 0,
    epochBatch: 0,
    stage: 0,
    fraction: 0,
  };
}

/** A frozen copy, safe to keep (history entries, stop reasons, errors). */
export function snapshotTime(time: Time): Time {
  return Object.freeze({ ...time });
}

/**
 * Planned length of a fit, used for `fraction`. When the steps per epoch are unknown (an iterable of
 * unknown length), `fraction` moves per epoch until the first epoch has told us its length.
 */
export interface FitPlan {
  readonly epochs: number;
  stepsPerEpoch: number | undefined;
}

export function fractionOf(time: Time, plan: FitPlan): number {
  const { epochs, stepsPerEpoch } = plan;
  if (stepsPerEpoch !== undefined && stepsPerEpoch > 0) {
    return Math.min(1, time.fitStep / (epochs * stepsPerEpoch));
  }
  return Math.min(1, time.fitEpoch / epochs);
}
