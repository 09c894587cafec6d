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
  /** Epochs completed inside the current stage (equals `epoch` when no stage was entered). */
  readonly stageEpoch: number;
  /** Optimizer steps completed inside the current stage (equals `step` when no stage was entered). */
  readonly stageStep: number;
  /** Progress through the current fit's planned duration, in [0, 1]. */
  readonly fraction: number;
}

type MutableTime = { -readonly [K in keyof Time]: Time[K] };

/** A frozen copy, safe to keep (history entries, stop reasons, errors). */
export function snapshotTime(time: Time): Time {
  return Object.freeze({ ...time });
}

/** The planned length of a fit, which `fraction` is measured against. */
export interface ClockPlan {
  readonly epochs: number;
  /** Micro-batches per epoch; unknown for an iterable of unknown length until its first epoch ends. */
  readonly batchesPerEpoch: number | undefined;
}

/**
 * The owner of every time counter: the loop says what happened (a batch trained, an optimizer
 * step, an epoch ended), the clock moves the counters that it concerns, and `fraction` has one rule.
 * Everyone else reads `clock.time`, a live read-only view.
 */
export class Clock {
  private readonly now: MutableTime = {
    epoch: 0,
    step: 0,
    batch: 0,
    sample: 0,
    fitIndex: -1,
    fitEpoch: 0,
    fitStep: 0,
    epochBatch: 0,
    stage: 0,
    stageEpoch: 0,
    stageStep: 0,
    fraction: 0,
  };
  /** Micro-batches consumed in the current fit (for `fraction`; checkpointed with the fit). */
  private batchesThisFit = 0;
  private plan: ClockPlan | undefined;

  /** The live counters (the same object throughout: hold it, read it later). */
  get time(): Time {
    return this.now;
  }

  get fitBatch(): number {
    return this.batchesThisFit;
  }

  /** A new `fit()` call: fit-relative counters start at 0. */
  startFit(plan: ClockPlan): void {
    this.plan = plan;
    this.now.fitIndex += 1;
    this.now.fitEpoch = 0;
    this.now.fitStep = 0;
    this.now.epochBatch = 0;
    this.now.fraction = 0;
    this.batchesThisFit = 0;
  }

  /** Continue a fit restored from a checkpoint: its counters came with the restored time. */
  continueFit(plan: ClockPlan, fitBatch: number): void {
    this.plan = plan;
    this.batchesThisFit = fitBatch;
  }

  /** The fit learnt its epoch length (an iterable of unknown length finished its first epoch). */
  learnPlan(plan: ClockPlan): void {
    this.plan = plan;
  }

  /** An epoch of the fit begins (or, resumed mid-epoch, continues at `epochBatch`). */
  startEpoch(fitEpoch: number, epochBatch = 0): void {
    this.now.fitEpoch = fitEpoch;
    this.now.epochBatch = epochBatch;
  }

  /** A batch went through the step (forward, backward, maybe the optimizer). */
  trained(samples: number, stepped: boolean): void {
    this.now.sample += samples;
    if (stepped) this.optimizerStepped();
  }

  /** The optimizer applied an update (after a batch, or the flush of an accumulation window). */
  optimizerStepped(): void {
    this.now.step += 1;
    this.now.fitStep += 1;
    this.now.stageStep += 1;
  }

  /** A micro-batch was consumed, trained or skipped. */
  batchConsumed(): void {
    this.now.batch += 1;
    this.batchesThisFit += 1;
    this.updateFraction();
  }

  /** The batch at `epochBatch` is over: the epoch's position moves past it. */
  batchDone(epochBatch: number): void {
    this.now.epochBatch = epochBatch + 1;
  }

  /** The epoch at `fitEpoch` ended (its `onEpochEnd` has run). */
  epochDone(fitEpoch: number): void {
    this.now.epoch += 1;
    this.now.stageEpoch += 1;
    this.now.fitEpoch = fitEpoch + 1;
    this.updateFraction();
  }

  /** The fit ran its planned length. */
  fitCompleted(): void {
    this.now.fraction = 1;
  }

  /** A multi-stage driver entered stage `stage`: stage-relative counters start at 0. */
  enterStage(stage: number): void {
    this.now.stage = stage;
    this.now.stageEpoch = 0;
    this.now.stageStep = 0;
  }

  /** Replace every counter (a checkpoint's time). Fields an older checkpoint lacks keep their meaning. */
  restore(saved: Partial<Time>): void {
    Object.assign(this.now, saved);
    this.now.stageEpoch = saved.stageEpoch ?? (saved.stage ? 0 : this.now.epoch);
    this.now.stageStep = saved.stageStep ?? (saved.stage ? 0 : this.now.step);
  }

  /** The one `fraction` rule: batches of the planned total, or epochs while the length is unknown. */
  private updateFraction(): void {
    const plan = this.plan;
    if (!plan) return;
    this.now.fraction =
      plan.batchesPerEpoch !== undefined
        ? Math.min(1, this.batchesThisFit / (plan.epochs * plan.batchesPerEpoch))
        : Math.min(1, this.now.fitEpoch / plan.epochs);
  }
}
