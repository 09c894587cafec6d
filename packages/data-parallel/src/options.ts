import { availableParallelism } from 'node:os';
import { checkOptionKeys, describeValue, TensorloopError } from '@tensorloop/core';

export interface DataParallelOptions {
  /**
   * Threads that compute each batch, counting the main thread (which computes the first shard itself
   * instead of idling while it waits): `workers: 2` is the main thread plus one worker thread.
   * Default: `os.availableParallelism()`. 1 trains on the main thread only.
   */
  readonly workers?: number;
  /** How long the main thread waits for a worker's shard (or start) before `TL_WORKER_FAILED`. Default 120000. */
  readonly timeoutMs?: number;
  /** Where the workers' tfjs-wasm binaries live (as `initWasmBackend({ wasmPaths })`); default: the installed package's. */
  readonly wasmPaths?: string;
}

export interface CheckedOptions {
  readonly workers: number;
  readonly timeoutMs: number;
  readonly wasmPaths: string | undefined;
}

const KEYS = ['workers', 'timeoutMs', 'wasmPaths'] as const;

function invalid(message: string): TensorloopError {
  return new TensorloopError('TL_OPTION_INVALID', `dataParallel(): ${message}`, {
    plugin: '@tensorloop/data-parallel',
  });
}

export function checkOptions(options: DataParallelOptions): CheckedOptions {
  checkOptionKeys('dataParallel()', options, KEYS, { plugin: '@tensorloop/data-parallel' });
  const workers = options.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1) {
    throw invalid(
      `workers must be an integer ≥ 1 (threads counting the main thread); got ${describeValue(workers)}.`,
    );
  }
  const timeoutMs = options.timeoutMs ?? 120_000;
  if (!(typeof timeoutMs === 'number' && timeoutMs > 0 && Number.isFinite(timeoutMs))) {
    throw invalid(`timeoutMs must be a positive number of milliseconds; got ${describeValue(timeoutMs)}.`);
  }
  if (options.wasmPaths !== undefined && typeof options.wasmPaths !== 'string') {
    throw invalid('wasmPaths must be a directory path or URL prefix (a string).');
  }
  return { workers, timeoutMs, wasmPaths: options.wasmPaths };
}
