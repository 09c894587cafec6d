import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { TensorloopError } from '@tensorloop/core';
import {
  COMMAND,
  CONTROL,
  CONTROL_INTS,
  ERROR_TEXT_BYTES,
  type WeightSpec,
  type WorkerConfig,
  type WorkerInit,
} from './protocol.js';

/** Where the worker entry is: next to this module in `dist/`, or the built one when running from `src/`. */
export function workerEntry(): URL {
  const beside = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../dist/worker.js', import.meta.url);
}

/** What a step hands one worker: its buffers as the main thread sees them. */
export interface WorkerBuffers {
  readonly config: WorkerConfig;
  readonly batch: Float32Array;
  readonly output: Float32Array;
  readonly mask: Int32Array;
  readonly scalars: Float64Array;
}

/** One worker thread and its side of the shared memory (protocol.ts). */
export class WorkerHandle {
  private readonly control: Int32Array;
  private readonly errorBytes: Uint8Array;
  private request = 0;
  buffers: WorkerBuffers | undefined;

  private constructor(
    private readonly worker: Worker,
    controlBuffer: SharedArrayBuffer,
    errorBuffer: SharedArrayBuffer,
    private readonly timeoutMs: number,
  ) {
    this.control = new Int32Array(controlBuffer);
    this.errorBytes = new Uint8Array(errorBuffer);
  }

  /** Start a worker and wait until its backend and model are ready; rejects with the reason it could not start. */
  static async start(
    WorkerClass: typeof Worker,
    init: Omit<WorkerInit, 'controlBuffer' | 'errorBuffer'>,
    timeoutMs: number,
  ): Promise<WorkerHandle> {
    const controlBuffer = new SharedArrayBuffer(CONTROL_INTS * 4);
    const errorBuffer = new SharedArrayBuffer(ERROR_TEXT_BYTES);
    const workerData: WorkerInit = { ...init, controlBuffer, errorBuffer };
    const worker = new WorkerClass(workerEntry(), { workerData });
    worker.unref();
    const handle = new WorkerHandle(worker, controlBuffer, errorBuffer, timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        worker.once('message', (m: { type: string; message?: string }) => {
          clearTimeout(timer);
          if (m.type === 'ready') resolve();
          else reject(new Error(m.message ?? 'the worker failed to start'));
        });
        worker.once('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
        worker.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the worker exited with code ${code} while starting`));
        });
      });
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    worker.removeAllListeners('exit');
    worker.removeAllListeners('error');
    worker.on('error', () => {}); // failures reach the main thread through FAILED and the timeout
    return handle;
  }

  /** Send new buffers and what to compute (a message, read by the worker when it leaves its loop). */
  configure(buffers: WorkerBuffers): void {
    this.worker.postMessage(buffers.config);
    this.buffers = buffers;
    this.send(COMMAND.CONFIGURE);
    this.wait();
  }

  /** Ask for one shard (inputs are already in shared memory); returns at once. */
  startStep(rows: number, seed: number): void {
    Atomics.store(this.control, CONTROL.ROWS, rows);
    Atomics.store(this.control, CONTROL.SEED, seed | 0);
    this.send(COMMAND.STEP);
  }

  /** Block until the worker answered the last request; throws `TL_WORKER_FAILED` with its error, or after the timeout. */
  wait(): void {
    const deadline = Date.now() + this.timeoutMs;
    while (Atomics.load(this.control, CONTROL.DONE) !== this.request) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new TensorloopError(
          'TL_WORKER_FAILED',
          `@tensorloop/data-parallel: a worker thread did not answer within ${this.timeoutMs} ms (it may have run out of memory or crashed). Raise dataParallel({ timeoutMs }) for very large batches, or use fewer workers.`,
          { plugin: '@tensorloop/data-parallel' },
        );
      }
      Atomics.wait(
        this.control,
        CONTROL.DONE,
        Atomics.load(this.control, CONTROL.DONE),
        Math.min(left, 1000),
      );
    }
    if (Atomics.load(this.control, CONTROL.FAILED) === 1) {
      const length = Atomics.load(this.control, CONTROL.ERROR_LENGTH);
      const text = new TextDecoder().decode(this.errorBytes.slice(0, length));
      Atomics.store(this.control, CONTROL.FAILED, 0);
      throw new TensorloopError(
        'TL_WORKER_FAILED',
        `@tensorloop/data-parallel: a worker thread failed: ${text.split('\n')[0]}. The same batch on one thread (dataParallel({ workers: 1 })) shows whether the model or the workers are at fault.`,
        { plugin: '@tensorloop/data-parallel', cause: text },
      );
    }
  }

  /** Stop the worker's loop and end the thread; never blocks on a worker that does not answer. */
  async stop(): Promise<void> {
    this.send(COMMAND.STOP);
    await this.worker.terminate();
  }

  private send(command: number): void {
    Atomics.store(this.control, CONTROL.COMMAND, command);
    this.request += 1;
    Atomics.store(this.control, CONTROL.REQUEST, this.request);
    Atomics.notify(this.control, CONTROL.REQUEST);
  }
}

export type { WeightSpec };
