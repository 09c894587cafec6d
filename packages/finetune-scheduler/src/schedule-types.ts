import type { OptimizerType } from '@tensorloop/core';

/**
 * A learning-rate factor as a function of the position in its span: the shape of a
 * `@tensorloop/lr-schedules` `Schedule` (`p = index / total`, clamped to [0, 1]), so any of its
 * builders (`cosine({ from: 1, to: 0.1 })`) can be passed, or a plain `(p) => 1 - 0.5 * p`.
 */
export type LrFactorFn = (p: number, span: { readonly index: number; readonly total: number }) => number;

/** `@tensorloop/lr-schedules` builders a YAML schedule can name in `newLrSchedule.fn`. */
export const LR_SCHEDULE_BUILDERS = [
  'constant',
  'linear',
  'cosine',
  'exponential',
  'polynomial',
  'step',
  'multiStep',
  'timeBasedDecay',
  'cosineWarmRestarts',
  'cyclic',
] as const;
export type LrScheduleBuilder = (typeof LR_SCHEDULE_BUILDERS)[number];

/**
 * A phase's new lr schedule: from the phase's transition on, every param group's lr is its base lr
 * (its lr at the transition; a phase group's own `lr`) times `fn` at the position counted from the
 * transition, until a later phase's `newLrSchedule` replaces it.
 */
export interface NewLrScheduleSpec {
  /** A factor function, or the name of a `@tensorloop/lr-schedules` builder called with `args`. */
  readonly fn: LrFactorFn | LrScheduleBuilder;
  /** Options of the named builder (`{ from: 1, to: 0.1 }`). */
  readonly args?: unknown;
  /** What the position counts. Default `'epoch'`. */
  readonly every?: 'epoch' | 'step';
  /** Span length in `every` units. Default: what remains of the fit's planned length at the transition. */
  readonly total?: number;
}

/**
 * Reset the optimizer at a phase's transition (moments and per-weight step counts, as a freshly
 * built optimizer of the same type) and give every param group these hyperparameters.
 */
export interface NewOptimizerSpec {
  /** Must be the trainer's optimizer type when given (a trainer keeps one optimizer). */
  readonly type?: OptimizerType;
  readonly lr?: number;
  readonly weightDecay?: number;
  readonly momentum?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Any other hyperparameter of the optimizer (`alpha`, `dampening`, ...). */
  readonly [hparam: string]: number | string | undefined;
}

/** One phase as written in a schedule (YAML or object). */
export interface PhaseSpec {
  /** Weight names or regexes matched from the start of the name (`^out/`), expanded in model weight order. */
  readonly params: readonly string[];
  /**
   * Epoch at whose start the next phase begins, unless early stopping ends this one first (an
   * absolute epoch of the stage: `time.stageEpoch`, the global epoch outside a multi-stage run).
   * -1: early stopping only.
   */
  readonly maxTransitionEpoch?: number;
  /** lr of the param group this phase adds. Default: the `baseMaxLr` option. Ignored (with a warning) in phase 0. */
  readonly lr?: number | string;
  readonly newOptimizer?: NewOptimizerSpec;
  readonly newLrSchedule?: NewLrScheduleSpec | LrFactorFn;
  /** YAML spellings (FTS's): accepted as the camelCase keys. */
  readonly max_transition_epoch?: number;
  readonly new_optimizer?: NewOptimizerSpec;
  readonly new_lr_schedule?: NewLrScheduleSpec;
}

/** A schedule as an object keyed by phase (`{ 0: { params: [...] }, 1: ... }`) or an array of phases. */
export type ScheduleObject = { readonly [phase: number]: PhaseSpec } | readonly PhaseSpec[];

/**
 * Where a schedule comes from: a YAML file path (one line ending in `.yaml` or `.yml`, Node only),
 * YAML text, or an object.
 */
export type ScheduleInput = string | ScheduleObject;

/** A phase as parsed, before its `params` are matched against a model. */
export interface ParsedPhase {
  readonly depth: number;
  readonly patterns: readonly string[];
  readonly maxTransitionEpoch: number;
  /** As given; phase 0's is dropped with a warning. */
  readonly lr: number | undefined;
  readonly newOptimizer: Readonly<Record<string, number>> | undefined;
  readonly newOptimizerType: OptimizerType | undefined;
  readonly newLrSchedule: ParsedLrSchedule | undefined;
}

export interface ParsedLrSchedule {
  readonly fn: LrFactorFn | LrScheduleBuilder;
  readonly args: unknown;
  readonly every: 'epoch' | 'step';
  readonly total: number | undefined;
}

/** A phase of the resolved schedule: its weights by name, in model weight order. */
export interface Phase {
  readonly depth: number;
  readonly params: readonly string[];
  /** -1: the phase ends by early stopping only. */
  readonly maxTransitionEpoch: number;
  /** lr of the param group the phase adds (phases ≥ 1; `baseMaxLr` when the schedule gives none). */
  readonly lr: number | undefined;
  readonly newOptimizer: Readonly<Record<string, number>> | undefined;
  readonly newLrSchedule:
    | {
        readonly every: 'epoch' | 'step';
        readonly total: number | undefined;
        /** The builder's name, or `'function'`. */
        readonly fn: string;
        readonly args?: unknown;
      }
    | undefined;
}
