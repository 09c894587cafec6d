import type { FreezeExceptState } from './freeze-except.js';
import type { MetaTrainerState } from './state.js';
import type {
  EvalEndEvent,
  EvalStartEvent,
  MetaTrainerApi,
  StageEndEvent,
  StageStartEvent,
} from './types.js';

export {
  FREEZE_EXCEPT,
  type FreezeExceptOptions,
  type FreezeExceptState,
  freezeExcept,
} from './freeze-except.js';
export { MetaTrainer } from './meta-trainer.js';
export { publishedAt, summarize } from './metrics.js';
export { META_TRAINER, metricName } from './names.js';
export { buildResults, formatResults, resultsToCsv, resultsToJson } from './results.js';
export type { EvaluationRecord, MetaTrainerState, StreamLayout } from './state.js';
export type {
  AccuracyMatrix,
  EvalEndEvent,
  EvalStartEvent,
  EvaluateSpec,
  Experience,
  MetaFitOptions,
  MetaResults,
  MetaRunResult,
  MetaTrainerApi,
  MetaTrainerOptions,
  MetricPoint,
  RunOptions,
  RunStopReason,
  StageEndEvent,
  StageOptimizer,
  StageResult,
  StageSpec,
  StageStartEvent,
  StreamSummary,
} from './types.js';

declare module '@tensorloop/core' {
  interface HookEvents {
    'meta:stageStart': StageStartEvent;
    'meta:stageEnd': StageEndEvent;
    'meta:evalStart': EvalStartEvent;
    'meta:evalEnd': EvalEndEvent;
  }
  interface PluginStateMap {
    '@tensorloop/meta-trainer': MetaTrainerState;
    '@tensorloop/meta-trainer:freeze-except': FreezeExceptState;
  }
  interface PluginApiMap {
    '@tensorloop/meta-trainer': MetaTrainerApi;
  }
}
