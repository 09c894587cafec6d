import { isBetter } from '@tensorloop/core';

/** Why a phase ended. */
export type TransitionReason = 'earlyStopping' | 'maxTransitionEpoch';

export interface TransitionInput {
  readonly depth: number;
  /** The last phase the run reaches. */
  readonly maxDepth: number;
  /** The epoch about to start, counted in the stage (`time.stageEpoch`: the global epoch outside a multi-stage run). */
  readonly epoch: number;
  /** The current phase's `maxTransitionEpoch` (-1: none). */
  readonly maxTransitionEpoch: number;
  /** Early stopping marked the current phase complete (at an earlier epoch end). */
  readonly phaseComplete: boolean;
  readonly epochTransitionsOnly: boolean;
}

/**
 * FTS's `should_transition`, evaluated at each epoch start: the final phase never transitions; the
 * others do when early stopping marked them complete or the epoch reached their
 * `maxTransitionEpoch` (an absolute epoch, compared with ≤). The caller makes at most one
 * transition per epoch start, so every phase trains at least one epoch.
 */
export function shouldTransition(t: TransitionInput): TransitionReason | undefined {
  if (t.depth >= t.maxDepth) return undefined;
  const epochDriven = t.maxTransitionEpoch >= 0 && t.maxTransitionEpoch <= t.epoch;
  if (!t.epochTransitionsOnly && t.phaseComplete) return 'earlyStopping';
  return epochDriven ? 'maxTransitionEpoch' : undefined;
}

export interface PhaseStoppingOptions {
  readonly monitor: string;
  readonly patience: number;
  readonly minDelta: number;
  readonly checkFinite: boolean;
  readonly stoppingThreshold: number | undefined;
  readonly divergenceThreshold: number | undefined;
}

/** What one epoch's value means for the phase. */
export type PhaseVerdict =
  | { readonly kind: 'improved'; readonly previous: number | undefined }
  | { readonly kind: 'waiting'; readonly wait: number }
  | { readonly kind: 'phaseComplete'; readonly wait: number }
  | { readonly kind: 'stop'; readonly why: 'notFinite' | 'stoppingThreshold' | 'divergence' | 'patience' };

/**
 * FTSEarlyStopping (`_evaluate_stopping_criteria`): a non-finite value and the thresholds end the
 * run in any phase; running out of patience ends the phase (the run, in the final phase). The best
 * value is kept across phases (a new phase must beat every earlier one); the wait count resets at
 * every transition.
 */
export class PhaseStopping {
  best: number | undefined;
  bestEpoch: number | undefined;
  wait = 0;
  phaseComplete = false;

  constructor(private readonly o: PhaseStoppingOptions) {}

  /** Records a new best; true when `value` improves on it by more than `minDelta`. */
  observe(value: number, epoch: number, mode: 'min' | 'max'): boolean {
    const reference = this.best ?? (mode === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY);
    if (!Number.isFinite(value) || !isBetter(value, reference, mode, this.o.minDelta)) return false;
    this.best = value;
    this.bestEpoch = epoch;
    return true;
  }

  /** One epoch end (not in epoch-only mode). */
  evaluate(value: number, epoch: number, mode: 'min' | 'max', finalPhase: boolean): PhaseVerdict {
    const o = this.o;
    if (o.checkFinite && !Number.isFinite(value)) return { kind: 'stop', why: 'notFinite' };
    if (o.stoppingThreshold !== undefined && isBetter(value, o.stoppingThreshold, mode)) {
      this.observe(value, epoch, mode);
      return { kind: 'stop', why: 'stoppingThreshold' };
    }
    if (o.divergenceThreshold !== undefined && isBetter(o.divergenceThreshold, value, mode)) {
      return { kind: 'stop', why: 'divergence' };
    }
    const previous = this.best;
    if (this.observe(value, epoch, mode)) {
      this.wait = 0;
      return { kind: 'improved', previous };
    }
    this.wait += 1;
    if (this.wait < o.patience) return { kind: 'waiting', wait: this.wait };
    if (finalPhase) return { kind: 'stop', why: 'patience' };
    const wait = this.wait;
    this.phaseComplete = true;
    this.wait = 0;
    return { kind: 'phaseComplete', wait };
  }

  /** A transition happened (early-stopping or epoch driven): a new phase starts with a new patience. */
  resetPhase(): void {
    this.phaseComplete = false;
    this.wait = 0;
  }
}
