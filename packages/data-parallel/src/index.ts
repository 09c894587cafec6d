import type { DataParallelApi } from './data-parallel.js';

export { DATA_PARALLEL, type DataParallelApi, dataParallel } from './data-parallel.js';
export type { DataParallelOptions } from './options.js';

declare module '@tensorloop/core' {
  interface PluginApiMap {
    '@tensorloop/data-parallel': DataParallelApi;
  }
}
