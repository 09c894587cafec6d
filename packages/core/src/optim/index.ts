export { type AdagradOptions, adagrad } from './adagrad.js';
export { type AdamOptions, adam, adamw } from './adam.js';
export { clipGradientsByGlobalNorm, clipGradientsByValue } from './clip.js';
export type { CommonOptimizerOptions } from './optimizer.js';
export { BIAS_AND_NORM, DEFAULT_GROUP, NO_DECAY_GROUP } from './param-groups.js';
export { type RmspropOptions, rmsprop } from './rmsprop.js';
export { type SgdOptions, sgd } from './sgd.js';
export type {
  NamedVariable,
  OptimizerState,
  OptimizerStateMeta,
  OptimizerType,
  ParamGroup,
  ParamGroupSpec,
  ParamMatcher,
  TensorloopOptimizer,
} from './types.js';
