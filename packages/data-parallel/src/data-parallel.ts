import { definePlugin, type Plugin } from '@tensorloop/core';
import { type CheckedOptions, checkOptions, type DataParallelOptions } from './options.js';
import { WorkerGroup } from './worker-group.js';

export const DATA_PARALLEL = '@tensorloop/data-parallel';

export interface DataParallelApi {
  /** Threads computing each batch in the current fit (the main thread included; 1 after a fallback). */
  readonly threads: number;
}

/**
 * Data parallelism over `worker_threads`: each training batch is split into shards, one computed on
 * the main thread and one per worker thread (each with its own tfjs wasm instance); their gradients,
 * averaged by shard size through a SharedArrayBuffer, go through ONE optimizer step on the main
 * thread, so training equals one process on the same global batch. Plugins run on the main thread.
 */
export function dataParallel(options: DataParallelOptions = {}): Plugin<typeof DATA_PARALLEL> {
  const checked: CheckedOptions = checkOptions(options);
  const group = new WorkerGroup(checked);
  const api: DataParallelApi = {
    get threads() {
      return group.threads;
    },
  };
  return definePlugin({
    name: DATA_PARALLEL,
    gradientSource: group,
    api,
    describe: () =>
      `${checked.workers} thread(s) per batch: the main thread and ${checked.workers - 1} worker(s)`,
    async onFitStart(ctx) {
      await group.start(ctx.model, ctx.logger);
    },
    async onException() {
      await group.stop();
    },
    async onFitEnd() {
      await group.stop();
    },
  });
}
