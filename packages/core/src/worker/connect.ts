/** The page's side: drives a Trainer served in a worker by `serveTrainer` (see protocol.ts). */
import { TensorloopError, type TensorloopErrorCode } from '../errors.js';
import type { LogEntry } from '../plugin.js';
import type {
  FromWorker,
  MessageEndpoint,
  RemoteError,
  RemoteFitRequest,
  RemoteFitResult,
  RemoteProgress,
  ToWorker,
} from './protocol.js';

export interface RemoteTrainer<Config> {
  /** Resolves when the fit ends (finished, stopped or failed, as a TensorloopError with its code). */
  fit(request: RemoteFitRequest<Config>): Promise<RemoteFitResult>;
  /** Asks the fit to stop after the current batch; resolves to whether a fit was running. */
  stop(reason?: string): Promise<boolean>;
  /** Saves a checkpoint (`indexeddb://run-1`): at the next batch end during a fit, at once otherwise. */
  save(to: string): Promise<string>;
  /** Frees the worker's model; the next fit builds a new trainer. */
  dispose(): Promise<boolean>;
  onProgress(listener: (progress: RemoteProgress) => void): () => void;
  onLog(listener: (entry: LogEntry) => void): () => void;
  /** Resolves once the worker has started serving. */
  readonly ready: Promise<void>;
}

const KNOWN_CODE = /^TL_[A-Z_]+$/;

function fromRemote(error: RemoteError): Error {
  if (KNOWN_CODE.test(error.code)) {
    // The message already carries the "[TL_…] " prefix the worker's error had.
    const message = error.message.replace(/^\[TL_[A-Z_]+\] /, '');
    return new TensorloopError(error.code as TensorloopErrorCode, message);
  }
  const out = new Error(error.message);
  out.name = error.code;
  return out;
}

/** Connects to a worker running `serveTrainer(self, …)`. */
export function connectTrainer<Config>(endpoint: MessageEndpoint): RemoteTrainer<Config> {
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const progressListeners = new Set<(p: RemoteProgress) => void>();
  const logListeners = new Set<(e: LogEntry) => void>();
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  endpoint.addEventListener('message', (event) => {
    const message = event.data as FromWorker;
    switch (message?.kind) {
      case 'ready':
        markReady();
        break;
      case 'progress':
        for (const l of progressListeners) l(message.progress);
        break;
      case 'log':
        for (const l of logListeners) l(message.entry);
        break;
      case 'done':
      case 'failed': {
        const call = pending.get(message.id);
        if (!call) break;
        pending.delete(message.id);
        if (message.kind === 'done') call.resolve(message.value);
        else call.reject(fromRemote(message.error));
        break;
      }
    }
  });

  const call = <T>(build: (id: number) => ToWorker): Promise<T> => {
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      endpoint.postMessage(build(id));
    });
  };
  const listen =
    <T>(set: Set<(v: T) => void>) =>
    (listener: (v: T) => void) => {
      set.add(listener);
      return () => void set.delete(listener);
    };

  return {
    fit: (request) => call((id) => ({ kind: 'fit', id, request })),
    stop: (reason) => call((id) => ({ kind: 'stop', id, ...(reason !== undefined ? { reason } : {}) })),
    save: (to) => call((id) => ({ kind: 'save', id, to })),
    dispose: () => call((id) => ({ kind: 'dispose', id })),
    onProgress: listen(progressListeners),
    onLog: listen(logListeners),
    ready,
  };
}
