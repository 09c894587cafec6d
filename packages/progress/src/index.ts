import type { ProgressOptions, ProgressStream } from './options.js';
import { createProgress, type ProgressApi } from './progress.js';
import type { CliProgressModule } from './renderer.js';

export { ANNOUNCED_EVENTS } from './events.js';
export type { ProgressOptions, ProgressStream } from './options.js';
export type { ProgressApi } from './progress.js';

/**
 * Terminal progress for a tensorloop `Trainer`: a bar per epoch on a terminal (cli-progress), plain
 * lines elsewhere, one summary line per epoch with the messages plugins write, and the stop reason.
 * Reads the batch loss at most every `refreshMs`.
 */
export function progress(options: ProgressOptions = {}) {
  return createProgress(
    {
      defaultStream: () => process.stdout as ProgressStream,
      // Loaded on the first fit that draws a bar: silent, piped and CI runs never load it.
      loadCli: async () => {
        const mod = (await import('cli-progress')) as unknown as {
          default?: CliProgressModule;
        } & CliProgressModule;
        return mod.default ?? mod;
      },
    },
    options,
  );
}

declare module '@tensorloop/core' {
  interface PluginApiMap {
    '@tensorloop/progress': ProgressApi;
  }
}
