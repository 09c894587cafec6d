import type { FinetuneSchedulerApi, FinetuneTransitionEvent } from './finetune-scheduler.js';
import type { FinetuneSchedulerState } from './state.js';

export { PLUGIN_NAME } from './errors.js';
export {
  type FinetuneSchedulerApi,
  type FinetuneTransitionEvent,
  finetuneScheduler,
} from './finetune-scheduler.js';
export { formatSchedule, generateSchedule, weightNames } from './implicit.js';
export type { FinetuneSchedulerOptions, PhaseEarlyStoppingOptions } from './options.js';
export type {
  LrFactorFn,
  LrScheduleBuilder,
  NewLrScheduleSpec,
  NewOptimizerSpec,
  Phase,
  PhaseSpec,
  ScheduleInput,
  ScheduleObject,
} from './schedule-types.js';
export type { FinetuneSchedulerState, TransitionRecord } from './state.js';
export type { TransitionReason } from './transitions.js';

declare module '@tensorloop/core' {
  interface PluginStateMap {
    '@tensorloop/finetune-scheduler': FinetuneSchedulerState;
  }
  interface PluginApiMap {
    '@tensorloop/finetune-scheduler': FinetuneSchedulerApi;
  }
  interface HookEvents {
    'finetune:transition': FinetuneTransitionEvent;
  }
}
