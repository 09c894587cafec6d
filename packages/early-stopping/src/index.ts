import type { EarlyStoppingApi } from './early-stopping.js';
import type { EarlyStoppingState } from './state.js';

export type { SerializedBestWeights, SerializedWeight } from './best-weights.js';
export { type EarlyStoppingApi, earlyStopping } from './early-stopping.js';
export { DEFAULT_MAX_STATE_BYTES, type EarlyStoppingOptions } from './options.js';
export type { EarlyStoppingState } from './state.js';

declare module '@tensorloop/core' {
  interface PluginStateMap {
    '@tensorloop/early-stopping': EarlyStoppingState;
  }
  interface PluginApiMap {
    '@tensorloop/early-stopping': EarlyStoppingApi;
  }
}
