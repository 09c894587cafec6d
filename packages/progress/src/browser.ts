// The browser build (the "browser" condition of the exports map): the same plugin without
// cli-progress or any Node module; lines go to console.log.
import type { ProgressOptions } from './options.js';
import { createProgress, type ProgressApi } from './progress.js';
import { consoleStream } from './renderer.js';

export { ANNOUNCED_EVENTS } from './events.js';
export type { ProgressOptions, ProgressStream } from './options.js';
export type { ProgressApi } from './progress.js';

export function progress(options: ProgressOptions = {}) {
  return createProgress({ defaultStream: consoleStream }, options);
}

declare module '@tensorloop/core' {
  interface PluginApiMap {
    '@tensorloop/progress': ProgressApi;
  }
}
