import { type MonitorMode, resolveMode, TensorloopError } from '@tensorloop/core';

export const PLUGIN_NAME = '@tensorloop/early-stopping';

/** Raw weights above this size are kept out of checkpoints unless `maxStateBytes` says otherwise. */
export const DEFAULT_MAX_STATE_BYTES = 32 * 1024 * 1024;

export interface EarlyStoppingOptions {
  /** Log key to watch. Default `'val_loss'` (Keras, tfjs). */
  readonly monitor?: string;
  /** `'min'`, `'max'`, or `'auto'`: accuracy-like keys (`acc`, `accuracy`, `val_acc`, ...) are maximized. */
  readonly mode?: MonitorMode;
  /** An epoch must beat the best by more than this to count as an improvement (absolute value is used). Default 0. */
  readonly minDelta?: number;
  /** Epochs without improvement before stopping. Default 0 (Keras, tfjs): stop at the first epoch that does not improve. */
  readonly patience?: number;
  /** A value to beat: until an epoch beats it, the patience count is never reset. */
  readonly baseline?: number;
  /** Epochs of this fit to let pass before watching (warm-up). Default 0. */
  readonly startFromEpoch?: number;
  /** Put the best epoch's weights back when the fit ends, however it ends. Default false. */
  readonly restoreBestWeights?: boolean;
  /** Stop as soon as the monitored value is better than this (Lightning `stopping_threshold`). */
  readonly stoppingThreshold?: number;
  /** Stop as soon as the monitored value is worse than this (Lightning `divergence_threshold`). */
  readonly divergenceThreshold?: number;
  /** Stop when the monitored value is NaN or ±Infinity (Lightning `check_finite`). Default true. */
  readonly checkFinite?: boolean;
  /** Plain-language messages every epoch through the trainer's logger. Default true. */
  readonly verbose?: boolean;
  /** Keep best, wait and the best weights across `fit()` calls instead of starting each fit afresh. Default false. */
  readonly persistAcrossFits?: boolean;
  /**
   * Largest size in bytes of the best weights written into a checkpoint's plugin state (so a resumed
   * run can still restore them). Above it they are left out, with a warning. Default 32 MiB.
   */
  readonly maxStateBytes?: number;
  /** Plugin name, for several instances (`'early-stopping:acc'`). Default `'@tensorloop/early-stopping'`. */
  readonly name?: string;
}

export interface ResolvedOptions {
  readonly name: string;
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  readonly minDelta: number;
  readonly patience: number;
  readonly baseline: number | undefined;
  readonly startFromEpoch: number;
  readonly restoreBestWeights: boolean;
  readonly stoppingThreshold: number | undefined;
  readonly divergenceThreshold: number | undefined;
  readonly checkFinite: boolean;
  readonly verbose: boolean;
  readonly persistAcrossFits: boolean;
  readonly maxStateBytes: number;
}

function invalid(message: string): TensorloopError {
  return new TensorloopError('TL_OPTION_INVALID', `earlyStopping(): ${message}`, { plugin: PLUGIN_NAME });
}

function finiteOrUndefined(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalid(`${name} must be a finite number; got ${String(value)}.`);
  }
  return value;
}

function nonNegativeInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalid(`${name} must be an integer ≥ 0; got ${String(value)}.`);
  }
  return value;
}

function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(`${name} must be true or false; got ${String(value)}.`);
  return value;
}

/** Checks the options (untyped JavaScript included) and fills in the defaults. */
export function resolveOptions(options: EarlyStoppingOptions = {}): ResolvedOptions {
  const monitor = options.monitor ?? 'val_loss';
  if (typeof monitor !== 'string' || monitor === '') {
    throw invalid(`monitor must be a log key such as 'val_loss'; got ${String(monitor)}.`);
  }
  const rawMode: unknown = options.mode ?? 'auto';
  if (rawMode !== 'auto' && rawMode !== 'min' && rawMode !== 'max') {
    throw invalid(`mode must be 'auto', 'min' or 'max'; got ${String(rawMode)}.`);
  }
  const mode = resolveMode(monitor, rawMode);
  const minDelta = Math.abs(finiteOrUndefined('minDelta', options.minDelta) ?? 0);
  const stoppingThreshold = finiteOrUndefined('stoppingThreshold', options.stoppingThreshold);
  const divergenceThreshold = finiteOrUndefined('divergenceThreshold', options.divergenceThreshold);
  if (stoppingThreshold !== undefined && divergenceThreshold !== undefined) {
    const ordered =
      mode === 'min' ? stoppingThreshold < divergenceThreshold : stoppingThreshold > divergenceThreshold;
    if (!ordered) {
      throw invalid(
        `with mode '${mode}', stoppingThreshold (${stoppingThreshold}) must be ${mode === 'min' ? 'below' : 'above'} divergenceThreshold (${divergenceThreshold}).`,
      );
    }
  }
  const maxStateBytes = options.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
  if (typeof maxStateBytes !== 'number' || Number.isNaN(maxStateBytes) || maxStateBytes < 0) {
    throw invalid(`maxStateBytes must be a number ≥ 0 (Infinity allowed); got ${String(maxStateBytes)}.`);
  }
  const name = options.name ?? PLUGIN_NAME;
  if (typeof name !== 'string' || name === '') throw invalid('name must be a non-empty string.');
  return {
    name,
    monitor,
    mode,
    minDelta,
    patience: nonNegativeInteger('patience', options.patience, 0),
    baseline: finiteOrUndefined('baseline', options.baseline),
    startFromEpoch: nonNegativeInteger('startFromEpoch', options.startFromEpoch, 0),
    restoreBestWeights: flag('restoreBestWeights', options.restoreBestWeights, false),
    stoppingThreshold,
    divergenceThreshold,
    checkFinite: flag('checkFinite', options.checkFinite, true),
    verbose: flag('verbose', options.verbose, true),
    persistAcrossFits: flag('persistAcrossFits', options.persistAcrossFits, false),
    maxStateBytes,
  };
}
