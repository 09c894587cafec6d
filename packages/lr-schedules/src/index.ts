export {
  type FindLrOptions,
  findLr,
  type LrFinderApi,
  type LrFinderOptions,
  type LrFinderPoint,
  type LrFinderResult,
  type LrFinderState,
  lrFinder,
} from './lr-finder.js';
export {
  type Anneal,
  momentumHparamOf,
  type OneCycleLrOptions,
  type OneCycleOptions,
  oneCycle,
  oneCycleLr,
  oneCycleMomentum,
} from './one-cycle.js';
export {
  improves,
  type PlateauApi,
  type PlateauReduction,
  type PlateauState,
  type ReduceOnPlateauOptions,
  reduceOnPlateau,
} from './plateau.js';
export {
  type GroupSchedules,
  type ScheduleApi,
  type ScheduleOptions,
  type SchedulePluginState,
  schedule,
} from './schedule-plugin.js';
export {
  type CosineWarmRestartsOptions,
  type CyclicOptions,
  combine,
  constant,
  cosine,
  cosineWarmRestarts,
  cyclic,
  type ExponentialOptions,
  exponential,
  type FromTo,
  linear,
  type MultiStepOptions,
  multiStep,
  type PolynomialOptions,
  polynomial,
  progress,
  type Schedule,
  type Span,
  type StepOptions,
  step,
  type TimeBasedDecayOptions,
  timeBasedDecay,
  valueAt,
  type WarmupLength,
  warmup,
} from './schedules.js';
export type { Every, Over, SpanState } from './span.js';
export {
  type LrSuggestion,
  type LrSuggestions,
  minimum,
  steepest,
  suggest,
  trimCurve,
  valley,
} from './suggestions.js';

import type { LrFinderApi, LrFinderState } from './lr-finder.js';
import type { PlateauApi, PlateauState } from './plateau.js';
import type { ScheduleApi, SchedulePluginState } from './schedule-plugin.js';

declare module '@tensorloop/core' {
  interface PluginStateMap {
    [schedule: `@tensorloop/lr-schedules:schedule(${string})`]: SchedulePluginState;
    '@tensorloop/lr-schedules:one-cycle': SchedulePluginState;
    '@tensorloop/lr-schedules:plateau': PlateauState;
    '@tensorloop/lr-schedules:lr-finder': LrFinderState;
  }
  interface PluginApiMap {
    [schedule: `@tensorloop/lr-schedules:schedule(${string})`]: ScheduleApi;
    '@tensorloop/lr-schedules:one-cycle': ScheduleApi;
    '@tensorloop/lr-schedules:plateau': PlateauApi;
    '@tensorloop/lr-schedules:lr-finder': LrFinderApi;
  }
}
