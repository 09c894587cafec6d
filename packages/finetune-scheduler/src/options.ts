import { checkOptionKeys, describeValue, type MonitorMode } from '@tensorloop/core';
import { fail, PLUGIN_NAME } from './errors.js';
import type { ScheduleInput } from './schedule-types.js';

/** FTSEarlyStopping's settings: running out of patience ends a phase (the run, in the final phase). */
export interface PhaseEarlyStoppingOptions {
  /** Log key to watch. Default `'val_loss'` (FTS's default). */
  readonly monitor?: string;
  /** `'min'`, `'max'` or `'auto'` (core's shared rule, decided at fit start). Default `'auto'`. */
  readonly mode?: MonitorMode;
  /** Epochs without improvement that end a phase. Default 3 (Lightning's `EarlyStopping`, which FTS extends). */
  readonly patience?: number;
  /** An epoch must beat the best by more than this (absolute value). Default 0. */
  readonly minDelta?: number;
  /** A NaN or ±Infinity value ends the run, in any phase. Default true. */
  readonly checkFinite?: boolean;
  /** A value better than this ends the run, in any phase (Lightning `stopping_threshold`). */
  readonly stoppingThreshold?: number;
  /** A value worse than this ends the run, in any phase (Lightning `divergence_threshold`). */
  readonly divergenceThreshold?: number;
}

export interface FinetuneSchedulerOptions {
  /** A YAML file path, YAML text or a schedule object. Default: the implicit schedule (`generateSchedule`). */
  readonly schedule?: ScheduleInput;
  /** The last phase to run; -1 (or past the end) runs the whole schedule. Default -1. */
  readonly maxDepth?: number;
  /** lr of the param group a phase ≥ 1 adds when it gives no `lr`. Default 1e-5 (FTS). */
  readonly baseMaxLr?: number;
  /** Put the best weights seen so far back before each transition. Default true (FTS). */
  readonly restoreBest?: boolean;
  /** Write the implicit schedule (`<modelName>_ft_schedule.yaml` in `logDir`) and train nothing. Default false. */
  readonly genScheduleOnly?: boolean;
  /** Transitions from `maxTransitionEpoch` only (no early stopping); every transitioning phase needs one. Default false. */
  readonly epochTransitionsOnly?: boolean;
  readonly earlyStopping?: PhaseEarlyStoppingOptions;
  /**
   * Frozen BatchNormalization layers: `'inference'` (core's and Keras's freezing: moving statistics
   * used and kept), or `'track'` (FTS's default, `frozen_bn_track_running_stats`: batch statistics
   * while training, moving statistics still updated; gamma and beta stay frozen). Default `'inference'`.
   */
  readonly frozenBatchNorm?: 'inference' | 'track';
  /**
   * Folder the resolved schedule is written to (`<modelName>_ft_schedule.yaml`), or `false` for none.
   * Default: the working directory (FTS falls back to the trainer's root dir); nothing in a browser.
   */
  readonly logDir?: string | false;
}

export interface ResolvedOptions {
  readonly schedule: ScheduleInput | undefined;
  readonly maxDepth: number;
  readonly baseMaxLr: number;
  readonly restoreBest: boolean;
  readonly genScheduleOnly: boolean;
  readonly epochTransitionsOnly: boolean;
  /** The user passed `earlyStopping` (pruned, with a warning, in epoch-only mode). */
  readonly earlyStoppingGiven: boolean;
  readonly monitor: string;
  readonly mode: MonitorMode;
  readonly patience: number;
  readonly minDelta: number;
  readonly checkFinite: boolean;
  readonly stoppingThreshold: number | undefined;
  readonly divergenceThreshold: number | undefined;
  readonly frozenBatchNorm: 'inference' | 'track';
  readonly logDir: string | false | undefined;
}

export const OPTION_KEYS = [
  'schedule',
  'maxDepth',
  'baseMaxLr',
  'restoreBest',
  'genScheduleOnly',
  'epochTransitionsOnly',
  'earlyStopping',
  'frozenBatchNorm',
  'logDir',
];
const EARLY_STOPPING_KEYS = [
  'monitor',
  'mode',
  'patience',
  'minDelta',
  'checkFinite',
  'stoppingThreshold',
  'divergenceThreshold',
];

const invalid = (message: string): never => fail('TL_OPTION_INVALID', `finetuneScheduler(): ${message}`);

function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalid(`${name} must be true or false; got ${describeValue(value)}.`);
  return value as boolean;
}

function finiteOrUndefined(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    invalid(`${name} must be a finite number; got ${describeValue(value)}.`);
  return value as number;
}

/** Checks the options (untyped JavaScript included) and fills in the defaults. */
export function resolveOptions(options: FinetuneSchedulerOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') invalid('options must be an object.');
  checkOptionKeys('finetuneScheduler()', options, OPTION_KEYS, { plugin: PLUGIN_NAME });
  const es = options.earlyStopping ?? {};
  if (es === null || typeof es !== 'object')
    invalid('earlyStopping must be an object such as { patience: 3 }.');
  checkOptionKeys('finetuneScheduler({ earlyStopping })', es, EARLY_STOPPING_KEYS, { plugin: PLUGIN_NAME });
  const maxDepth = options.maxDepth ?? -1;
  if (!Number.isInteger(maxDepth) || maxDepth < -1)
    invalid(`maxDepth must be an integer ≥ -1; got ${describeValue(maxDepth)}.`);
  const baseMaxLr = options.baseMaxLr ?? 1e-5;
  if (typeof baseMaxLr !== 'number' || !Number.isFinite(baseMaxLr) || baseMaxLr < 0) {
    invalid(`baseMaxLr must be a finite number ≥ 0; got ${describeValue(baseMaxLr)}.`);
  }
  const monitor = es.monitor ?? 'val_loss';
  if (typeof monitor !== 'string' || monitor === '')
    invalid(`earlyStopping.monitor must be a log key; got ${describeValue(monitor)}.`);
  const mode = es.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'min' && mode !== 'max') {
    invalid(`earlyStopping.mode must be 'auto', 'min' or 'max'; got ${describeValue(mode)}.`);
  }
  const patience = es.patience ?? 3;
  if (!Number.isInteger(patience) || patience < 0) {
    invalid(`earlyStopping.patience must be an integer ≥ 0; got ${describeValue(patience)}.`);
  }
  const frozenBatchNorm = options.frozenBatchNorm ?? 'inference';
  if (frozenBatchNorm !== 'inference' && frozenBatchNorm !== 'track') {
    invalid(`frozenBatchNorm must be 'inference' or 'track'; got ${describeValue(frozenBatchNorm)}.`);
  }
  const logDir = options.logDir;
  if (logDir !== undefined && logDir !== false && (typeof logDir !== 'string' || logDir === '')) {
    invalid(`logDir must be a folder path or false; got ${describeValue(logDir)}.`);
  }
  const schedule = options.schedule;
  if (
    schedule !== undefined &&
    typeof schedule !== 'string' &&
    (schedule === null || typeof schedule !== 'object')
  ) {
    invalid('schedule must be a YAML file path, YAML text or a schedule object.');
  }
  return {
    schedule,
    maxDepth,
    baseMaxLr,
    restoreBest: flag('restoreBest', options.restoreBest, true),
    genScheduleOnly: flag('genScheduleOnly', options.genScheduleOnly, false),
    epochTransitionsOnly: flag('epochTransitionsOnly', options.epochTransitionsOnly, false),
    earlyStoppingGiven: options.earlyStopping !== undefined,
    monitor,
    mode,
    patience,
    minDelta: Math.abs(finiteOrUndefined('earlyStopping.minDelta', es.minDelta) ?? 0),
    checkFinite: flag('earlyStopping.checkFinite', es.checkFinite, true),
    stoppingThreshold: finiteOrUndefined('earlyStopping.stoppingThreshold', es.stoppingThreshold),
    divergenceThreshold: finiteOrUndefined('earlyStopping.divergenceThreshold', es.divergenceThreshold),
    frozenBatchNorm,
    logDir,
  };
}
