export { checkPlugin } from './check-plugin.js';
export {
  type Decision,
  type FitPoint,
  type Interruption,
  interrupter,
  skipper,
  stopper,
  thrower,
} from './companions.js';
export {
  type ClassificationDataOptions,
  classificationData,
  mnistDigits,
  type RegressionDataOptions,
  regressionData,
  type TensorPair,
} from './data.js';
export type { HookTiming, HparamWrite } from './instrument.js';
export type { CheckOptions, ResumeCheckOptions } from './kit-options.js';
export { mnistMlp, type TinyModelOptions, tinyClassifier, tinyRegressor } from './models.js';
export type { ModuleRef, PluginFactory, PluginModule, PluginUnderTest } from './plugin-source.js';
export {
  assertWellBehaved,
  CHECK_NAMES,
  type CheckName,
  type CheckResult,
  type PluginReport,
} from './report.js';
export {
  type ContractOptions,
  type ContractReport,
  type ContractRun,
  type ContractScenario,
  type ResumeOutcome,
  type RunResult,
  runResumeContract,
} from './resume-contract.js';
export { type PluginRun, type RunWithPluginsOptions, runWithPlugins } from './run.js';
export {
  type BuildRunOptions,
  buildRun,
  type GroupSpec,
  type KitRun,
  type KitSetup,
  type OptimizerSpec,
} from './setup.js';
