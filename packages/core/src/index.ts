export { type BackendChoice, type BackendInfo, type InitBackendOptions, initBackend } from './backend.js';
export { CALLBACKS_PLUGIN, type TfjsCallbackArgs, type TfjsCallbacks } from './callbacks-bridge.js';
export {
  type CheckpointManifest,
  checkpointExists,
  readCheckpointDir,
  readCheckpointJson,
  removeCheckpointDir,
  type WriteCheckpointOptions,
  writeCheckpointDir,
} from './checkpoint/atomic-dir.js';
export type { SavedCheckpoint } from './checkpoint/browser-store.js';
export {
  type BestCheckpoint,
  CHECKPOINT_PLUGIN,
  type CheckpointApi,
  type CheckpointOptions,
  type CheckpointState,
  checkpoint,
} from './checkpoint/checkpoint-plugin.js';
export { fileSystemHandler, registerFileSystemRouter } from './checkpoint/file-handler.js';
export { INDEXEDDB_SCHEME } from './checkpoint/indexeddb-store.js';
export { isBetter, type MonitorMode, readMonitor, resolveMode } from './checkpoint/monitor.js';
export { OPFS_SCHEME, opfsAvailable } from './checkpoint/opfs-store.js';
export {
  isBrowserCheckpoint,
  listCheckpoints,
  readCheckpoint,
  removeCheckpoint,
} from './checkpoint/store.js';
export type { FitCheckpoint, TrainerCheckpointJson } from './checkpoint/trainer-checkpoint.js';
export type { BatchLike, DataInput, TensorData } from './data.js';
export { describeValue } from './describe-value.js';
export { formatEpochLine, type Verbosity } from './epoch-line.js';
export { isTensorloopError, TensorloopError, type TensorloopErrorCode } from './errors.js';
export type { ParameterInfo } from './freezing.js';
export {
  formatHparam,
  type HparamExplanation,
  type HparamScope,
  type HparamSetOptions,
  type HparamWriter,
  type HparamWriterMode,
  HyperparamStore,
  type HyperparamStoreState,
  USER_WRITER,
} from './hyperparams.js';
export { checkMonitorKey, fitLogKeys, resolveLogKey } from './log-keys.js';
export { resolveBuiltinLoss, resolveBuiltinMetric } from './loop/gradient-source.js';
export type {
  GradientRequest,
  GradientResult,
  GradientSource,
  SourceBatch,
} from './loop/gradient-source-api.js';
export type { NonFiniteOption } from './loop/non-finite.js';
export type { GradientClipOptions } from './loop/step.js';
export type { StepGateOption } from './loop/step-gate.js';
/** `Math.random` seeded for a synchronous call, as core does for each step (for a gradient source computing elsewhere). */
export { withSeededMathRandom } from './loop/step-random.js';
export { LOSS_NAMES, type LossFn, type LossFnContext, type LossName, type LossSpec } from './losses.js';
export { METRIC_NAMES, type MetricFn, type MetricName, type MetricSpec } from './metrics.js';
export {
  directionFromName,
  inferMonitorMode,
  type MetricDirection,
  resolveMonitorMode,
} from './monitor-mode.js';
export {
  type AdagradOptions,
  type AdamOptions,
  adagrad,
  adam,
  adamw,
  BIAS_AND_NORM,
  type CommonOptimizerOptions,
  clipGradientsByGlobalNorm,
  clipGradientsByValue,
  DEFAULT_GROUP,
  type NamedVariable,
  NO_DECAY_GROUP,
  type OptimizerState,
  type OptimizerStateMeta,
  type OptimizerType,
  type ParamGroup,
  type ParamGroupSpec,
  type ParamMatcher,
  type RmspropOptions,
  rmsprop,
  type SgdOptions,
  sgd,
  type TensorloopOptimizer,
} from './optim/index.js';
export { type AnyOptimizer, isTensorloopOptimizer, type TensorloopOptimizerLike } from './optimizer-seam.js';
export { checkOptionKeys, closestKey } from './option-keys.js';
export {
  type Batch,
  type BatchEndEvent,
  type BatchStartEvent,
  CORE_EVENT_NAMES,
  type CoreEventName,
  type CoreHookName,
  type CustomEventName,
  definePlugin,
  type EpochEndEvent,
  type EpochRecord,
  type EpochStartEvent,
  type EvaluateEndEvent,
  type EvaluateStartEvent,
  type ExceptionEvent,
  type FitEndEvent,
  type FitPlanInfo,
  type FitStartEvent,
  type GradientMap,
  HOOK_KINDS,
  type HookEvents,
  type HookHandler,
  type HookKind,
  type HookReturn,
  type HyperparamAccess,
  type HyperparamWriteDeclaration,
  type JsonValue,
  type LifecycleHooks,
  type LogEntry,
  type Logger,
  type Logs,
  type LossContext,
  type ObjectHook,
  type OptimizerStepEvent,
  type Plugin,
  type PluginApiMap,
  type PluginMeta,
  type PluginReadback,
  type PluginStateMap,
  type StepGateInfo,
  type StepTransforms,
  type StopReason,
  type TrainerContext,
  type ValidationEndEvent,
  type ValidationStartEvent,
  WEIGHT_WRITE_POINTS,
  type WeightWritePoint,
} from './plugin.js';
export { readState, StateReader } from './plugin-state.js';
export {
  type HookSignalMap,
  type Signal,
  type SkipBatchSignal,
  type StopEpochSignal,
  type StopSignal,
  skipBatch,
  stop,
  stopEpoch,
} from './signals.js';
export type { Time } from './time.js';
export {
  type EvaluateOptions,
  type FitOptions,
  type FitResult,
  Trainer,
  type TrainerLoadOptions,
  type TrainerOptions,
  type TrainerSnapshot,
} from './trainer.js';
export type { TrainableWeight } from './variables.js';
export { CORE_VERSION as version } from './version.js';
export type { WeightWriter } from './weight-writers.js';
