import type { AmpApi, AmpState } from './amp.js';

export { AMP_PLUGIN, type AmpApi, type AmpState, amp } from './amp.js';
export type { AmpOptions } from './options.js';
export {
  DEFAULT_KEEP_FLOAT32,
  type KeepFloat32Entry,
  type LayerPrecision,
  planPrecision,
} from './precision-plan.js';
export {
  BFLOAT16,
  FLOAT16,
  type FloatFormat,
  PRECISIONS,
  type Precision,
  roundingIdentity,
  roundToPrecision,
} from './rounding.js';

declare module '@tensorloop/core' {
  interface PluginStateMap {
    '@tensorloop/amp': AmpState;
  }
  interface PluginApiMap {
    '@tensorloop/amp': AmpApi;
  }
  interface Logs {
    /** The loss scale at the end of the epoch (`@tensorloop/amp`). */
    loss_scale?: number;
    /** Optimizer steps skipped this epoch for inf/NaN gradients (`@tensorloop/amp`). */
    skipped_steps?: number;
  }
}
