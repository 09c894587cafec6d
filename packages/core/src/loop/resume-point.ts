import type { FitCheckpoint } from '../checkpoint/trainer-checkpoint.js';
import type { ResumePoint } from '../checkpoint/trainer-state.js';
import { TensorloopError } from '../errors.js';
import type { FitPlanInfo, StopReason } from '../plugin.js';
import type { SeededRandom } from '../rng.js';
import { type Clock, type ClockPlan, snapshotTime, type Time } from '../time.js';
import type { GradientAccumulator } from './accumulation.js';
import type { EpochLog } from './epoch-log.js';

/**
 * Resume points: what a checkpoint taken inside a fit records about the position in it, and how a
 * resumed fit gets back there. Capture and replay of every position-dependent field live here
 * (with its type, `FitCheckpoint`), so a new one is added in this file and that type only.
 */

/** Where the loop is, as far as `save()` is concerned: only epoch and batch ends are resume points. */
export type LoopPhase = 'idle' | 'running' | 'batchEnd' | 'epochEnd' | 'fitEnd';

/** The running fit's plan: its epochs and, once known, its batches per epoch. */
export interface LoopPlan extends FitPlanInfo, ClockPlan {}

/** The epoch being trained: what a mid-epoch checkpoint saves of it. */
export interface EpochRun {
  readonly log: EpochLog;
  readonly accumulator: GradientAccumulator | undefined;
  /** RNG state when the epoch drew its shuffle order. */
  readonly startRng: number;
}

/** What the loop exposes of its position. */
export interface LoopPosition {
  readonly phase: LoopPhase;
  readonly plan: LoopPlan | undefined;
  readonly epoch: EpochRun | undefined;
}

export type MidEpoch = NonNullable<FitCheckpoint['midEpoch']>;

/**
 * The resume point of the current position. `inFitCall` is true while `fit()` runs (its data
 * checks included); inside a fit only the ends of epochs and batches are resume points.
 */
export async function captureResumePoint(
  position: LoopPosition,
  clock: Clock,
  stopReason: StopReason | undefined,
  inFitCall: boolean,
): Promise<ResumePoint> {
  const { phase, plan } = position;
  const inFit = inFitCall && phase !== 'fitEnd';
  if (inFit && phase !== 'epochEnd' && phase !== 'batchEnd') {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      'save() / snapshot() was called while a fit is running outside onEpochEnd/onBatchEnd. Checkpoints inside a fit are taken at epoch or batch ends (the points a resume can continue from); call it from those hooks or after fit() returns.',
    );
  }
  const now = clock.time;
  let time: Time = snapshotTime(now);
  let fit: FitCheckpoint | undefined;
  if (inFit && plan) {
    const common = {
      index: now.fitIndex,
      epochs: plan.epochs,
      fitStep: now.fitStep,
      fitBatch: clock.fitBatch,
      batchesPerEpoch: plan.batchesPerEpoch,
    };
    if (phase === 'epochEnd') {
      // The epoch is over once its onEpochEnd returns: resume at the next one.
      fit = { ...common, epochsDone: now.fitEpoch + 1 };
      time = {
        ...time,
        epoch: now.epoch + 1,
        stageEpoch: now.stageEpoch + 1,
        fitEpoch: now.fitEpoch + 1,
        epochBatch: 0,
      };
    } else {
      const midEpoch = await captureMidEpoch(position.epoch!, now.epochBatch + 1);
      fit = { ...common, epochsDone: now.fitEpoch, midEpoch };
      time = { ...time, epochBatch: midEpoch.epochBatch };
    }
  }
  return { time, fit, stopReason };
}

async function captureMidEpoch(epoch: EpochRun, epochBatch: number): Promise<MidEpoch> {
  if (epoch.accumulator && epoch.accumulator.pending > 0) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `save() was called inside a gradient accumulation window (${epoch.accumulator.pending} of ${epoch.accumulator.k} micro-batches). Save after a batch whose event has stepped: true.`,
    );
  }
  const logState = await epoch.log.state();
  return { epochBatch, epochStartRng: epoch.startRng, ...logState, sums: [...logState.sums] };
}

/** The plan a restored fit continues with. */
export function planOfCheckpoint(fit: FitCheckpoint): LoopPlan {
  return {
    epochs: fit.epochs,
    stepsPerEpoch: fit.batchesPerEpoch,
    batchesPerEpoch: fit.batchesPerEpoch,
    batchSize: undefined,
  };
}

/** At the start of a resumed fit: the clock continues the fit's own counters. */
export function continueFit(resume: FitCheckpoint, clock: Clock, plan: LoopPlan): void {
  clock.continueFit(plan, resume.fitBatch);
}

/** The first epoch of the fit to train: 0, or the one the checkpoint was taken in or before. */
export function firstEpoch(resume: FitCheckpoint | undefined): number {
  return resume?.epochsDone ?? 0;
}

/** The part of epoch `fitEpoch` already trained before the checkpoint, if it was taken inside it. */
export function midEpochOf(resume: FitCheckpoint | undefined, fitEpoch: number): MidEpoch | undefined {
  return resume !== undefined && fitEpoch === resume.epochsDone ? resume.midEpoch : undefined;
}

/** Replay the start of an epoch resumed mid-way: its shuffle order and its running logs. */
export function replayEpochStart(mid: MidEpoch, rng: SeededRandom, log: EpochLog): void {
  rng.setState(mid.epochStartRng);
  log.restore(mid);
}

/** True for a batch the resumed epoch trained before its checkpoint (consumed, not trained again). */
export function trainedBeforeCheckpoint(mid: MidEpoch | undefined, epochBatch: number): boolean {
  return mid !== undefined && epochBatch < mid.epochBatch;
}

/** A fit that continues a checkpoint's fit must not end before the checkpoint's position. */
export function checkResumedEpochs(resume: FitCheckpoint, epochs: number): void {
  if (epochs < resume.epochsDone) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `The checkpoint is at epoch ${resume.epochsDone} of a fit planned for ${resume.epochs} epochs; epochs: ${epochs} would end before it. Pass epochs: ${resume.epochs} to finish that fit.`,
    );
  }
}
