import {
  type BatchEndEvent,
  type EpochRecord,
  type FitEndEvent,
  type JsonValue,
  type LogEntry,
  type Logs,
  type Plugin,
  type StopReason,
  type TensorloopError,
  TensorloopError as TlError,
  type TrainerContext,
} from '@tensorloop/core';
import { DEFAULT_HPARAMS, type HparamSelection, readHparams } from './hparams.js';
import { type LoggerState, parseLoggerState } from './logger-state.js';

export type { LoggerState } from './logger-state.js';

/** One epoch, as a logger receives it. */
export interface LoggerEpoch {
  /** Global epoch index (continues across fits and resumes). */
  readonly epoch: number;
  readonly fitIndex: number;
  /**
   * Global optimizer step at the end of the epoch. Undefined only for a replayed epoch whose step
   * nobody recorded (the checkpoint was taken before this logger saw it, and more epochs followed).
   */
  readonly step: number | undefined;
  /** Every finite-or-not number of the epoch's logs (training and `val_` keys), in the order the trainer wrote them. */
  readonly logs: Readonly<Record<string, number>>;
  /** Training keys (`loss`, `accuracy`, ...). */
  readonly train: Readonly<Record<string, number>>;
  /** Validation keys with the `val_` prefix removed (`loss`, `accuracy`, ...), as Keras splits them. */
  readonly validation: Readonly<Record<string, number>>;
  /** Selected hyperparameters at the epoch end: `lr`, or `lr/<group>` per param group. */
  readonly hparams: Readonly<Record<string, number>>;
  /** The epoch was cut short by a stop signal. */
  readonly partial: boolean;
  /**
   * Delivered at the start of a resumed fit from the restored history: the checkpoint was taken
   * at this epoch's end before this logger had recorded it (it ran later in the order, or failed).
   */
  readonly replayed: boolean;
}

/** One optimizer step, delivered every `updateFreq` steps. */
export interface LoggerStep {
  /** Global optimizer step (after this batch's update). */
  readonly step: number;
  readonly epoch: number;
  /** Global micro-batch count. */
  readonly batch: number;
  /** The batch's loss and metrics. */
  readonly logs: Readonly<Record<string, number>>;
  readonly hparams: Readonly<Record<string, number>>;
}

/** A message another plugin (or the trainer) wrote through `ctx.logger`. */
export interface LoggerMessage {
  readonly source: string;
  readonly level: 'info' | 'warn';
  readonly message: string;
  readonly epoch: number;
  readonly step: number;
}

export interface LoggerStart<S> {
  /** This fit continues one restored from a checkpoint (`fit(..., { resumeFrom })`). */
  readonly resumed: boolean;
  /**
   * When the trainer was restored before this fit (`resumeFrom`, `Trainer.load`, `restore()`):
   * what this logger's `state()` returned when that checkpoint was taken (a file position, a
   * tracker's run id), validated by `parseState`. Continue from it. Undefined otherwise.
   */
  readonly saved: S | undefined;
  readonly fitIndex: number;
  /** Global epoch and step the fit starts (or continues) from. */
  readonly epoch: number;
  readonly step: number;
  /** Planned epochs of this fit. */
  readonly epochs: number;
  /** The fit has validation data (epoch logs will have `val_` keys). */
  readonly hasValidation: boolean;
}

export interface LoggerEnd {
  /** How the fit ended. */
  readonly reason: 'completed' | 'stopped' | 'error';
  readonly stopReason: StopReason | undefined;
  readonly error: TensorloopError | undefined;
  readonly history: readonly EpochRecord[];
  /** This logger's first failure in the fit, if any (then write nothing more; just close). */
  readonly failure: string | undefined;
}

type Awaitable<T> = T | Promise<T>;

/**
 * What a logger implements. Every callback may be async; each is awaited in order, and a failure is
 * caught by the base (see `defineLogger`).
 */
export interface LoggerDefinition<N extends string, S extends JsonValue = JsonValue, A extends object = {}> {
  /** The plugin name (npm name, plus `:<what>` for one of several loggers of a package). */
  readonly name: N;
  readonly version?: string;
  /** `'epoch'` (default): no per-step records; a number n: `onStep` every n optimizer steps. */
  readonly updateFreq?: 'epoch' | number;
  /** Hyperparameters in each record. Default `['lr', 'momentum', 'beta1']` (those present). */
  readonly hparams?: HparamSelection;
  /** Deliver other plugins' messages to `onMessages`. Default: true when `onMessages` is given. */
  readonly messages?: boolean;
  /** Extra `ctx.plugin(name)` API, merged with the base's `LoggerApi`. */
  readonly api?: A;
  describe?(): string | readonly string[];
  /** The fit starts: open files, start a tracker run. On resume, rewind to `start.saved`. */
  onStart?(ctx: TrainerContext, start: LoggerStart<S>): Awaitable<void>;
  onEpoch?(ctx: TrainerContext, epoch: LoggerEpoch): Awaitable<void>;
  onStep?(ctx: TrainerContext, step: LoggerStep): Awaitable<void>;
  /** Messages logged since the last delivery (at epoch ends and at the end of the fit). */
  onMessages?(ctx: TrainerContext, messages: readonly LoggerMessage[]): Awaitable<void>;
  /** Called once when the fit ends, before `onEnd`: push out what is buffered. */
  flush?(ctx: TrainerContext): Awaitable<void>;
  /** The fit ended (completed, stopped or failed): close files, finish the tracker run. Called even after a failure. */
  onEnd?(ctx: TrainerContext, end: LoggerEnd): Awaitable<void>;
  /** Where the logger is (bytes written, a run id), for checkpoints: JSON. Must not throw. */
  state?(): S;
  /**
   * Validate `state()` output read back from a checkpoint (untrusted); throw when it is not yours: the
   * resume is refused with `TL_CHECKPOINT_INVALID` naming this logger, before anything is restored.
   */
  parseState?(saved: unknown): S;
}

/** What `ctx.plugin(name)` returns for every logger built on `defineLogger`. */
export interface LoggerApi {
  /** Why this logger stopped logging in the current fit (its first failure), if it did. */
  readonly failure: string | undefined;
  /** Last global epoch and step it recorded. */
  readonly lastEpoch: number | undefined;
  readonly lastStep: number | undefined;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

function splitLogs(logs: Logs): {
  all: Record<string, number>;
  train: Record<string, number>;
  val: Record<string, number>;
} {
  const all: Record<string, number> = {};
  const train: Record<string, number> = {};
  const val: Record<string, number> = {};
  for (const [key, value] of Object.entries(logs)) {
    if (typeof value !== 'number') continue;
    all[key] = value;
    if (key.startsWith('val_')) val[key.slice(4)] = value;
    else train[key] = value;
  }
  return { all, train, val };
}

function checkUpdateFreq(name: string, freq: 'epoch' | number | undefined): number | undefined {
  if (freq === undefined || freq === 'epoch') return undefined;
  if (typeof freq === 'number' && Number.isInteger(freq) && freq >= 1) return freq;
  throw new TlError(
    'TL_OPTION_INVALID',
    `[${name}] updateFreq must be 'epoch' or an integer ≥ 1 (optimizer steps); got ${JSON.stringify(freq)}.`,
    { plugin: name },
  );
}

/**
 * The base of every tensorloop logger, and of yours (a W&B or MLflow plugin): implement `onEpoch`
 * (and optionally `onStart`, `onStep`, `onMessages`, `flush`, `onEnd`, `state`), and the base does
 * the rest right:
 *
 * - **Resume.** Your `state()` is checkpointed with the last epoch and step recorded; on
 *   `resumeFrom`, `onStart` gets it back as `saved` to rewind to, epochs the checkpoint holds but
 *   you never saw are replayed from the restored history, and nothing is delivered twice.
 * - **Endings.** `flush` then `onEnd` run exactly once on every ending: completed, stopped, or an
 *   exception anywhere in the fit (also when another plugin's `onFitEnd` fails).
 * - **Failures.** A callback that throws (disk full, a tracker down) is caught: one warning through
 *   `ctx.logger`, no more records for the rest of that fit, `onEnd` still runs, training goes on,
 *   and the checkpoint keeps the last good state (a resumed run rewinds there and replays).
 *
 * Loggers run after other plugins (`enforce: 'post'`, so they see metrics others add to the logs)
 * and before the core `checkpoint` plugin (so a checkpoint records what they wrote).
 */
export function defineLogger<const N extends string, S extends JsonValue = JsonValue, A extends object = {}>(
  def: LoggerDefinition<N, S, A>,
): Plugin<N> {
  const name = def.name;
  if (typeof name !== 'string' || name === '') {
    throw new TlError('TL_OPTION_INVALID', 'defineLogger(): name must be a non-empty string.');
  }
  const updateFreq = checkUpdateFreq(name, def.updateFreq);
  const selection = def.hparams ?? DEFAULT_HPARAMS;
  const wantsMessages = def.messages ?? def.onMessages !== undefined;

  let lastEpoch: number | undefined;
  let lastStep: number | undefined;
  /** Epoch → step of epochs that ended while the logger could not record them. */
  let missed = new Map<number, number>();
  /** State restored by `loadState`, waiting for the fit that resumes from it. */
  let restored: { sink: S | undefined } | undefined;
  let lastGoodSink: S | undefined;
  let failure: string | undefined;
  let running = false;
  let pending: LoggerMessage[] = [];
  let unsubscribe: (() => void) | undefined;

  /** Runs one callback; the first failure switches the logger off for the rest of the fit. */
  const guarded = async (ctx: TrainerContext, what: string, fn: () => Awaitable<void>): Promise<boolean> => {
    if (failure !== undefined) return false;
    try {
      await fn();
      return true;
    } catch (error) {
      failure = `${what}: ${messageOf(error)}`;
      ctx.logger.warn(
        `${what} failed (${messageOf(error)}). This logger records nothing more in this fit; training goes on, and checkpoints keep its last good state.`,
      );
      return false;
    }
  };

  /** A checkpoint is a file: its logger state is checked whole (envelope and sink) before any of it is used. */
  const parseSaved = (saved: unknown): LoggerState<S> => {
    const invalid = (problem: string) =>
      new TlError(
        'TL_CHECKPOINT_INVALID',
        `[${name}] the checkpoint's state is not what this logger writes: ${problem}. Resume from a checkpoint this logger wrote, or drop resumeFrom (or this logger) to start afresh.`,
        { plugin: name },
      );
    const parsed = parseLoggerState(saved);
    if (typeof parsed === 'string') throw invalid(parsed);
    if (parsed.sink === null) return { ...parsed, sink: null };
    try {
      return { ...parsed, sink: def.parseState ? def.parseState(parsed.sink) : (parsed.sink as S) };
    } catch (error) {
      throw invalid(`its sink state is unusable (${messageOf(error)})`);
    }
  };

  const sinkState = (): S | undefined => {
    if (!def.state) return undefined;
    try {
      lastGoodSink = def.state();
    } catch {
      // Keep the last good position: a logger must never break a checkpoint.
    }
    return lastGoodSink;
  };

  const epochRecord = (
    ctx: TrainerContext,
    record: EpochRecord,
    step: number | undefined,
    partial: boolean,
    replayed: boolean,
  ): LoggerEpoch => {
    const { all, train, val } = splitLogs(record.logs);
    return {
      epoch: record.epoch,
      fitIndex: record.fitIndex,
      step,
      logs: all,
      train,
      validation: val,
      hparams: readHparams(ctx.hparams, selection),
      partial,
      replayed,
    };
  };

  const deliverEpoch = async (ctx: TrainerContext, record: LoggerEpoch) => {
    if (lastEpoch !== undefined && record.epoch <= lastEpoch) return; // already recorded before the checkpoint
    const ok = def.onEpoch
      ? await guarded(ctx, `recording epoch ${record.epoch}`, () => def.onEpoch!(ctx, record))
      : failure === undefined;
    if (ok) {
      lastEpoch = record.epoch;
      missed.delete(record.epoch);
    } else if (record.step !== undefined) missed.set(record.epoch, record.step);
  };

  const deliverMessages = async (ctx: TrainerContext) => {
    if (pending.length === 0 || !def.onMessages) return;
    const batch = pending;
    pending = [];
    await guarded(ctx, 'recording messages', () => def.onMessages!(ctx, batch));
  };

  const subscribe = (ctx: TrainerContext) => {
    if (!wantsMessages) return;
    unsubscribe = ctx.logger.subscribe((entry: LogEntry) => {
      if (!running || entry.source === name || entry.level === 'debug') return;
      pending.push({
        source: entry.source,
        level: entry.level,
        message: entry.message,
        epoch: entry.time.epoch,
        step: entry.time.step,
      });
    });
  };

  /** Flush and close once, however the fit ends. */
  const finish = async (ctx: TrainerContext, end: Omit<LoggerEnd, 'failure'>) => {
    if (!running) return;
    await deliverMessages(ctx);
    if (def.flush) await guarded(ctx, 'flushing', () => def.flush!(ctx));
    running = false;
    unsubscribe?.();
    unsubscribe = undefined;
    pending = [];
    if (def.onEnd) {
      try {
        await def.onEnd(ctx, { ...end, failure });
      } catch (error) {
        ctx.logger.warn(`closing failed (${messageOf(error)}); training is not affected.`);
      }
    }
  };

  const onBatchEnd = async (ctx: TrainerContext, event: BatchEndEvent) => {
    if (updateFreq === undefined || !running || !event.stepped || event.logs === undefined) return;
    const step = ctx.time.step;
    if (step % updateFreq !== 0 || (lastStep !== undefined && step <= lastStep)) return;
    const { all } = splitLogs(event.logs);
    const record: LoggerStep = {
      step,
      epoch: ctx.time.epoch,
      batch: ctx.time.batch,
      logs: all,
      hparams: readHparams(ctx.hparams, selection),
    };
    const ok = def.onStep
      ? await guarded(ctx, `recording step ${step}`, () => def.onStep!(ctx, record))
      : failure === undefined;
    if (ok) lastStep = step;
  };

  const api: LoggerApi = {
    get failure() {
      return failure;
    },
    get lastEpoch() {
      return lastEpoch;
    },
    get lastStep() {
      return lastStep;
    },
  };
  const fullApi: LoggerApi & A = Object.defineProperties(
    {},
    { ...Object.getOwnPropertyDescriptors(def.api ?? {}), ...Object.getOwnPropertyDescriptors(api) },
  ) as LoggerApi & A;

  const plugin: Plugin = {
    name,
    ...(def.version === undefined ? {} : { version: def.version }),
    enforce: 'post',
    before: ['checkpoint'],
    // Batch logs are read back every batch only for a logger that records steps (core has no per-plugin cadence).
    ...(updateFreq === undefined ? {} : { needsBatchLogs: true, onBatchEnd }),
    api: fullApi,
    ...(def.describe ? { describe: () => def.describe!() } : {}),

    async onFitStart(ctx, event) {
      failure = undefined;
      if (!event.resumed) missed = new Map(); // only a resumed fit replays
      pending = [];
      running = true;
      const resume = restored;
      restored = undefined;
      subscribe(ctx);
      const opened = await guarded(ctx, 'starting', () =>
        def.onStart?.(ctx, {
          resumed: event.resumed,
          saved: resume?.sink,
          fitIndex: event.fitIndex,
          epoch: ctx.time.epoch,
          step: ctx.time.step,
          epochs: event.epochs,
          hasValidation: event.hasValidation,
        }),
      );
      if (!opened || !resume || !event.resumed) return;
      // Epochs of this fit the checkpoint holds but that were never recorded (see LoggerEpoch.replayed).
      for (const record of ctx.history) {
        if (record.fitIndex === event.fitIndex && record.epoch < ctx.time.epoch) {
          // The step is known when the logger saw the epoch end, or when it is the one the checkpoint was taken at.
          const atCheckpoint = record.epoch === ctx.time.epoch - 1 && ctx.time.epochBatch === 0;
          const step = missed.get(record.epoch) ?? (atCheckpoint ? ctx.time.step : undefined);
          await deliverEpoch(ctx, epochRecord(ctx, record, step, false, true));
        }
      }
    },

    async onEpochEnd(ctx, event) {
      if (!running) return;
      await deliverMessages(ctx);
      await deliverEpoch(
        ctx,
        epochRecord(
          ctx,
          { epoch: event.epoch, fitIndex: ctx.time.fitIndex, logs: event.logs },
          ctx.time.step,
          event.partial,
          false,
        ),
      );
    },

    async onException(ctx, event) {
      // When another plugin's onFitEnd throws, ours may never run: close here instead.
      await finish(ctx, {
        reason: 'error',
        stopReason: ctx.stopReason,
        error: event.error,
        history: ctx.history,
      });
    },

    async onFitEnd(ctx, event: FitEndEvent) {
      const reason = event.error ? 'error' : event.completed ? 'completed' : 'stopped';
      await finish(ctx, { reason, stopReason: event.stopReason, error: event.error, history: event.history });
    },

    state(): LoggerState<S> {
      return {
        format: 'tensorloop-logger@1',
        epoch: lastEpoch ?? null,
        step: lastStep ?? null,
        missed: [...missed],
        // Loaded but not yet resumed from: the loaded position is still the state.
        sink: (restored ? restored.sink : sinkState()) ?? null,
      };
    },

    parseState: (saved: unknown) => parseSaved(saved),

    loadState(saved: unknown) {
      const parsed = parseSaved(saved);
      lastEpoch = parsed.epoch ?? undefined;
      lastStep = parsed.step ?? undefined;
      missed = new Map(parsed.missed);
      const sink = parsed.sink ?? undefined;
      if (sink !== undefined) lastGoodSink = sink;
      restored = { sink };
    },
  };
  return plugin as unknown as Plugin<N>;
}
