import type { EarlyStoppingApi, EarlyStoppingState } from './early-stopping.js';

export type { SerializedBestWeights, SerializedWeight } from './best-weights.js';
export { type EarlyStoppingApi, type EarlyStoppingState, earlyStopping } from './early-stopping.js';
export { DEFAULT_MAX_STATE_BYTES, type EarlyStoppingOptions } from './options.js';

declare module '@tensorloop/core' {
  interface PluginStateMap {
    '@tensorloop/early-stopping': EarlyStoppingState;
  }
  interface PluginApiMap {
    '@tensorloop/early-stopping': EarlyStoppingApi;
  }
}
