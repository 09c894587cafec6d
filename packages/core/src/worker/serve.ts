/** The worker's side: runs a Trainer on the page's requests and reports back (see protocol.ts). */
import type * as tf from '@tensorflow/tfjs';
import type { DataInput } from '../data.js';
import { TensorloopError } from '../errors.js';
import type { FitOptions } from '../options.js';
import { definePlugin, type LogEntry, type Plugin } from '../plugin.js';
import { stop } from '../signals.js';
import type { Trainer } from '../trainer.js';
import type {
  FromWorker,
  MessageEndpoint,
  RemoteError,
  RemoteFitRequest,
  RemoteFitResult,
  RemoteProgress,
  ToWorker,
} from './protocol.js';

/** What `create` gets to wire the trainer to the page. */
export interface WorkerBridge {
  /** Put it in the trainer's plugins: it reports progress and carries out stop and save. */
  readonly plugin: Plugin;
  /** Pass it as the trainer's `log`: every log entry goes to the page. */
  readonly log: (entry: LogEntry) => void;
}

export interface ServeTrainerOptions<Config> {
  /** Builds the trainer for a fit request (called once; later fits reuse it). */
  create(config: Config, bridge: WorkerBridge): Trainer | Promise<Trainer>;
  /** The training data for a fit request (and, optionally, more fit options: validation data…). */
  data(
    config: Config,
  ):
    | { data: DataInput; fit?: Omit<FitOptions, 'epochs' | 'resumeFrom'> }
    | Promise<{ data: DataInput; fit?: Omit<FitOptions, 'epochs' | 'resumeFrom'> }>;
  /** Read batch logs back every batch for progress (a device sync per batch). Default false. */
  readonly batchLogs?: boolean;
  /** At most one batch progress message per this many milliseconds. Default 50. */
  readonly progressEveryMs?: number;
  /** Send the final weights with the fit result (plain arrays). Default false. */
  readonly sendWeights?: boolean;
}

function toRemoteError(error: unknown): RemoteError {
  if (error instanceof TensorloopError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: error.name, message: error.message };
  return { code: 'Error', message: String(error) };
}

function isRequest(value: unknown): value is ToWorker {
  const v = value as { kind?: unknown; id?: unknown } | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.id === 'number' &&
    (v.kind === 'fit' || v.kind === 'stop' || v.kind === 'save' || v.kind === 'dispose')
  );
}

function plainWeights(model: tf.LayersModel): NonNullable<RemoteFitResult['weights']> {
  const out: Record<string, { shape: number[]; values: number[] }> = {};
  for (const w of model.weights)
    out[w.originalName] = { shape: [...w.shape] as number[], values: Array.from(w.read().dataSync()) };
  return out;
}

/**
 * Serves a Trainer to the page over `endpoint` (in a worker: `self`). The page drives it with
 * `connectTrainer(worker)`.
 */
export function serveTrainer<Config>(endpoint: MessageEndpoint, options: ServeTrainerOptions<Config>): void {
  const send = (message: FromWorker) => endpoint.postMessage(message);
  const everyMs = options.progressEveryMs ?? 50;
  let trainer: Trainer | undefined;
  let fitting = false;
  let stopRequest: string | undefined;
  const saves: { to: string; id: number }[] = [];
  let lastProgress = -Infinity;

  const progress = (p: RemoteProgress) => send({ kind: 'progress', progress: p });
  const runSaves = async (save: (to: string) => Promise<void>) => {
    for (const { to, id } of saves.splice(0)) {
      try {
        await save(to);
        send({ kind: 'done', id, value: to });
      } catch (error) {
        send({ kind: 'failed', id, error: toRemoteError(error) });
      }
    }
  };
  const bridge: WorkerBridge = {
    log: (entry) => send({ kind: 'log', entry: { ...entry, time: { ...entry.time } } }),
    plugin: definePlugin({
      name: '@tensorloop/core:worker-bridge',
      enforce: 'post',
      needsBatchLogs: options.batchLogs === true,
      async onBatchEnd(ctx, event) {
        const now = performance.now();
        if (now - lastProgress >= everyMs) {
          lastProgress = now;
          progress({
            event: 'batch',
            time: { ...ctx.time },
            logs: event.logs ? { ...event.logs } : undefined,
          });
        }
        await runSaves((to) => ctx.save(to));
        if (stopRequest !== undefined) return stop(stopRequest);
        return undefined;
      },
      async onEpochEnd(ctx, event) {
        progress({ event: 'epoch', time: { ...ctx.time }, logs: { ...event.logs } });
        await runSaves((to) => ctx.save(to));
        if (stopRequest !== undefined) return stop(stopRequest);
        return undefined;
      },
    }),
  };

  const fit = async (request: RemoteFitRequest<Config>): Promise<RemoteFitResult> => {
    if (fitting) {
      throw new TensorloopError(
        'TL_FIT_CONCURRENT',
        'the worker is already fitting; wait for fit() to resolve, or stop() it first',
      );
    }
    fitting = true;
    stopRequest = undefined;
    try {
      trainer ??= await options.create(request.config, bridge);
      const { data, fit: more } = await options.data(request.config);
      const result = await trainer.fit(data, {
        ...more,
        epochs: request.epochs,
        ...(request.batchSize !== undefined ? { batchSize: request.batchSize } : {}),
        ...(request.resumeFrom !== undefined ? { resumeFrom: request.resumeFrom } : {}),
      });
      return {
        history: result.history.map((h) => ({ epoch: h.epoch, logs: { ...h.logs } })),
        stopReason: result.stopReason && JSON.parse(JSON.stringify(result.stopReason)),
        time: { ...result.time },
        ...(options.sendWeights ? { weights: plainWeights(trainer.model) } : {}),
      };
    } finally {
      fitting = false;
      // A save asked for as the fit ended is done on the finished trainer.
      if (saves.length > 0 && trainer) await runSaves((to) => trainer!.save(to));
    }
  };

  endpoint.addEventListener('message', (event) => {
    const message = event.data;
    if (!isRequest(message)) return;
    const reply = (work: () => Promise<unknown> | unknown) => {
      Promise.resolve()
        .then(work)
        .then(
          (value) => send({ kind: 'done', id: message.id, value }),
          (error: unknown) => send({ kind: 'failed', id: message.id, error: toRemoteError(error) }),
        );
    };
    switch (message.kind) {
      case 'fit':
        reply(() => fit(message.request as RemoteFitRequest<Config>));
        break;
      case 'stop':
        stopRequest = message.reason ?? 'stopped from the page';
        reply(() => fitting);
        break;
      case 'save':
        if (fitting)
          saves.push({ to: message.to, id: message.id }); // at the next batch end
        else
          reply(async () => {
            if (!trainer) {
              throw new TensorloopError(
                'TL_CHECKPOINT_INVALID',
                'nothing to save yet: fit() once first, then save',
              );
            }
            await trainer.save(message.to);
            return message.to;
          });
        break;
      case 'dispose':
        reply(() => {
          trainer?.model.dispose();
          trainer = undefined;
          return true;
        });
        break;
    }
  });
  send({ kind: 'ready' });
}
