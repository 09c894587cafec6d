/**
 * The messages between a page and a Trainer running in a Web Worker (`@tensorloop/core/worker`).
 * Every message is structured-cloneable data: numbers, strings, plain objects; never a tensor, a
 * model or a function.
 */
import type { LogEntry, Logs, StopReason } from '../plugin.js';
import type { Time } from '../time.js';

/** What the page asks a fit for: the config its worker builds the trainer and data from, and fit options. */
export interface RemoteFitRequest<Config> {
  /** Handed to the worker's `create` and `data`: a model size, a learning rate, a dataset name… */
  readonly config: Config;
  readonly epochs: number;
  readonly batchSize?: number;
  /** A checkpoint to continue from: `indexeddb://run-1`. */
  readonly resumeFrom?: string;
}

/** A plain-data view of a finished fit. */
export interface RemoteFitResult {
  readonly history: readonly { readonly epoch: number; readonly logs: Logs }[];
  readonly stopReason: StopReason | undefined;
  readonly time: Time;
  /** Model weights by name, as plain arrays (only when the worker's `sendWeights` is set). */
  readonly weights?: Readonly<Record<string, { readonly shape: number[]; readonly values: number[] }>>;
}

/** Page → worker. */
export type ToWorker =
  | { readonly kind: 'fit'; readonly id: number; readonly request: RemoteFitRequest<unknown> }
  | { readonly kind: 'stop'; readonly id: number; readonly reason?: string }
  | { readonly kind: 'save'; readonly id: number; readonly to: string }
  | { readonly kind: 'dispose'; readonly id: number };

/** A progress report: after every batch (at most every `progressEveryMs`) and at every epoch end. */
export interface RemoteProgress {
  readonly event: 'batch' | 'epoch';
  readonly time: Time;
  /** Epoch logs at an epoch end; batch logs when the worker asked for them (`batchLogs`). */
  readonly logs: Logs | undefined;
}

/** An error as data: the TensorloopError code (or the error's name) and message. */
export interface RemoteError {
  readonly code: string;
  readonly message: string;
}

/** Worker → page. */
export type FromWorker =
  | { readonly kind: 'ready' }
  | { readonly kind: 'progress'; readonly progress: RemoteProgress }
  | { readonly kind: 'log'; readonly entry: LogEntry }
  | { readonly kind: 'done'; readonly id: number; readonly value: unknown }
  | { readonly kind: 'failed'; readonly id: number; readonly error: RemoteError };

/** What both ends talk through: a `Worker`, the worker's `self`, or a `MessagePort`. */
export interface MessageEndpoint {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  removeEventListener?(type: 'message', listener: (event: { data: unknown }) => void): void;
}
