import {
  checkOptionKeys,
  describeValue,
  inferMonitorMode,
  type MonitorMode,
  TensorloopError,
} from '@tensorloop/core';

export const PLUGIN_NAME = '@tensorloop/early-stopping';

/** Raw weights above this size are kept out of checkpoints unless `maxStateBytes` says otherwise. */
export const DEFAULT_MAX_STATE_BYTES = 32 * 1024 * 1024;

export interface EarlyStoppingOptions {
  /** Log key to watch. Default `'val_loss'` (Keras, tfjs). */
  readonly monitor?: string;
  /**
   * `'min'`, `'max'`, or `'auto'`: a metric spec's `direction`, else the key's name (accuracy-, auc-,
   * f1-, precision-, recall-, iou-like keys are maximized, loss- and error-like ones minimized); a
   * key it cannot read fails at fit start with `TL_OPTION_INVALID`. Default `'auto'`.
   */
  readonly mode?: MonitorMode;
  /** An epoch must beat the best by more than this to count as an improvement (absolute value is used). Default 0. */
  readonly minDelta?: number;
  /** Epochs without improvement before stopping. Default 0 (Keras, tfjs): stop at the first epoch that does not improve. */
  readonly patience?: number;
  /**
   * How `patience` counts. `'keras'` (default, as Keras and Lightning): stop at the `patience`-th
   * epoch without improvement. `'pytorch'`: after `patience + 1` such epochs, as PyTorch's
   * `ReduceLROnPlateau` reads the word, for recipes ported from PyTorch.
   */
  readonly counting?: 'keras' | 'pytorch';
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

export const OPTION_KEYS = [
  'monitor',
  'mode',
  'minDelta',
  'patience',
  'counting',
  'baseline',
  'startFromEpoch',
  'restoreBestWeights',
  'stoppingThreshold',
  'divergenceThreshold',
  'checkFinite',
  'verbose',
  'persistAcrossFits',
  'maxStateBytes',
  'name',
];

export interface ResolvedOptions {
  readonly name: string;
  readonly monitor: string;
  /** As given; `auto` is decided at fit start (`resolveMonitorMode`). */
  readonly requestedMode: MonitorMode;
  readonly minDelta: number;
  readonly patience: number;
  readonly counting: 'keras' | 'pytorch';
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
    throw invalid(`${name} must be a finite number; got ${describeValue(value)}.`);
  }
  return value;
}

function nonNegativeInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalid(`${name} must be an integer ≥ 0; got ${describeValue(value)}.`);
  }
  return value;
}

function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw invalid(`${name} must be true or false; got ${describeValue(value)}.`);
  return value;
}

/**
 * With thresholds on both sides, the stopping one must be on the better side. Checked at
 * construction when the direction is known, else once `auto` is decided at fit start.
 */
export function checkThresholds(o: ResolvedOptions, mode: 'min' | 'max'): void {
  const { stoppingThreshold, divergenceThreshold } = o;
  if (stoppingThreshold === undefined || divergenceThreshold === undefined) return;
  const ordered =
    mode === 'min' ? stoppingThreshold < divergenceThreshold : stoppingThreshold > divergenceThreshold;
  if (!ordered) {
    throw invalid(
      `with mode '${mode}', stoppingThreshold (${stoppingThreshold}) must be ${mode === 'min' ? 'below' : 'above'} divergenceThreshold (${divergenceThreshold}).`,
    );
  }
}

/** Checks the options (untyped JavaScript included) and fills in the defaults. */
export function resolveOptions(options: EarlyStoppingOptions = {}): ResolvedOptions {
  checkOptionKeys('earlyStopping()', options, OPTION_KEYS, { plugin: PLUGIN_NAME });
  const monitor = options.monitor ?? 'val_loss';
  if (typeof monitor !== 'string' || monitor === '') {
    throw invalid(`monitor must be a log key such as 'val_loss'; got ${describeValue(monitor)}.`);
  }
  const rawMode: unknown = options.mode ?? 'auto';
  if (rawMode !== 'auto' && rawMode !== 'min' && rawMode !== 'max') {
    throw invalid(`mode must be 'auto', 'min' or 'max'; got ${describeValue(rawMode)}.`);
  }
  const counting = options.counting ?? 'keras';
  if (counting !== 'keras' && counting !== 'pytorch') {
    throw invalid(`counting must be 'keras' or 'pytorch'; got ${describeValue(counting)}.`);
  }
  const minDelta = Math.abs(finiteOrUndefined('minDelta', options.minDelta) ?? 0);
  const stoppingThreshold = finiteOrUndefined('stoppingThreshold', options.stoppingThreshold);
  const divergenceThreshold = finiteOrUndefined('divergenceThreshold', options.divergenceThreshold);
  const maxStateBytes = options.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
  if (typeof maxStateBytes !== 'number' || Number.isNaN(maxStateBytes) || maxStateBytes < 0) {
    throw invalid(
      `maxStateBytes must be a number ≥ 0 (Infinity allowed); got ${describeValue(maxStateBytes)}.`,
    );
  }
  const name = options.name ?? PLUGIN_NAME;
  if (typeof name !== 'string' || name === '') throw invalid('name must be a non-empty string.');
  const resolved: ResolvedOptions = {
    name,
    monitor,
    requestedMode: rawMode,
    minDelta,
    patience: nonNegativeInteger('patience', options.patience, 0),
    counting,
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
  const known = inferMonitorMode(monitor, rawMode);
  if (known !== undefined) checkThresholds(resolved, known);
  return resolved;
}
