import {
  checkOptionKeys,
  type ParamMatcher,
  type Plugin,
  type StopReason,
  TensorloopError,
  type TensorloopError as TlError,
  type TrainerContext,
} from '@tensorloop/core';
import {
  defineLogger,
  type LoggerApi,
  type LoggerEpoch,
  type LoggerMessage,
  type LoggerStep,
} from './define-logger.js';
import { EventFile, fileSeconds, joinPath, listEventFiles, truncateEventFile } from './event-file.js';
import { DATA_CLASS_TENSOR, DT_STRING, type SummaryValue } from './event-proto.js';
import { histogramOf } from './histogram.js';
import type { HparamSelection } from './hparams.js';
import { loggerName } from './logger-name.js';
import { requireNode } from './node-env.js';

export const TENSORBOARD_LOGGER = '@tensorloop/loggers:tensorboard';

export interface HistogramOptions {
  /** Every n global epochs (Keras `histogram_freq`: epochs 0, n, 2n, ...). Default 1. */
  readonly every?: number;
  /** Which weights, by name (`hidden/kernel`): a RegExp, a regex source or exact name, or a function. Default all. */
  readonly match?: ParamMatcher;
}

export interface TensorBoardOptions {
  /** The log folder: runs `train/` and `validation/` go inside (created). */
  readonly logDir: string;
  /** `'epoch'` (default): epoch scalars only; n: also `batch_*` scalars every n optimizer steps. */
  readonly updateFreq?: 'epoch' | number;
  /** Weight histograms at epoch ends. Default none. */
  readonly histograms?: HistogramOptions | boolean;
  /** Hyperparameters as scalars (`epoch_lr`, `epoch_lr/<group>`). Default `['lr', 'momentum', 'beta1']`. */
  readonly hparams?: HparamSelection;
  /** Other plugins' messages as text (tag `messages`), and the stop reason (tag `stop_reason`). Default true. */
  readonly text?: boolean;
  /** Plugin name, for several TensorBoard loggers in one trainer. Default `'@tensorloop/loggers:tensorboard'`. */
  readonly name?: string;
}

type RunName = 'train' | 'validation';

/** Where each run's current events file is, checkpointed: a resume cuts it back and starts a new file. */
export type TensorBoardPosition = {
  readonly runs: { [run: string]: { readonly file: string; readonly bytes: number } };
};

export interface TensorBoardApi extends LoggerApi {
  readonly logDir: string;
  /** Path of each run's current (or last) events file. */
  readonly files: Readonly<Partial<Record<RunName, string>>>;
}

const encoder = new TextEncoder();

function compileMatcher(match: ParamMatcher | undefined, plugin: string): (name: string) => boolean {
  if (match === undefined) return () => true;
  if (typeof match === 'function') return match;
  if (match instanceof RegExp) {
    const re = new RegExp(match.source, match.flags.replace(/[gy]/g, ''));
    return (name) => re.test(name);
  }
  if (typeof match === 'string') {
    let re: RegExp | undefined;
    try {
      re = new RegExp(match);
    } catch {
      re = undefined;
    }
    return (name) => name === match || re?.test(name) === true;
  }
  throw new TensorloopError(
    'TL_OPTION_INVALID',
    `[${plugin}] histograms.match must be a RegExp, a string or a function (name) => boolean.`,
    { plugin },
  );
}

function checkOptions(name: string, options: TensorBoardOptions) {
  const invalid = (message: string): never => {
    throw new TensorloopError('TL_OPTION_INVALID', `[${name}] tensorBoard(): ${message}`, { plugin: name });
  };
  if (typeof options?.logDir !== 'string' || options.logDir === '') invalid('logDir must be a folder path.');
  const h = options.histograms;
  const histograms = h === true ? {} : h === false || h === undefined ? undefined : h;
  const every = histograms?.every ?? 1;
  if (histograms && !(Number.isInteger(every) && every >= 1)) {
    invalid(`histograms.every must be an integer ≥ 1 (epochs); got ${JSON.stringify(every)}.`);
  }
  return {
    logDir: options.logDir,
    histograms: histograms ? { every, match: compileMatcher(histograms.match, name) } : undefined,
    text: options.text ?? true,
  };
}

function parsePosition(saved: unknown): TensorBoardPosition {
  const runs = (saved as TensorBoardPosition | null)?.runs;
  const valid =
    typeof runs === 'object' &&
    runs !== null &&
    Object.entries(runs).every(
      ([run, r]) =>
        (run === 'train' || run === 'validation') &&
        typeof r?.file === 'string' &&
        fileSeconds(r.file) !== undefined &&
        !/[\\/]/.test(r.file) &&
        Number.isInteger(r.bytes) &&
        r.bytes >= 0,
    );
  if (!valid)
    throw new Error(
      'expected { runs: { train?: { file, bytes }, validation?: ... } } as written by tensorBoard',
    );
  return saved as TensorBoardPosition;
}

const scalar = (tag: string, value: number): SummaryValue => ({ tag, simpleValue: value });

/** A text summary as the text plugin reads it: a DT_STRING scalar tensor with plugin_name "text". */
const text = (tag: string, markdown: string): SummaryValue => ({
  tag,
  tensor: { dtype: DT_STRING, tensorShape: {}, stringVal: [encoder.encode(markdown)] },
  metadata: { pluginData: { pluginName: 'text', content: new Uint8Array() }, dataClass: DATA_CLASS_TENSOR },
});

const prefixed = (prefix: string, values: Readonly<Record<string, number>>) =>
  Object.entries(values).map(([k, v]) => scalar(`${prefix}${k}`, v));

function describeStop(
  stop: StopReason | undefined,
  error: TlError | undefined,
  now: { epoch: number; step: number },
): string | undefined {
  if (error) return `**the fit failed** at epoch ${now.epoch}, step ${now.step}: ${error.message}`;
  if (!stop) return undefined;
  return `stopped by **${stop.by}** (${stop.hook}) at epoch ${stop.time.epoch}, step ${stop.time.step}: ${stop.message}`;
}

/**
 * TensorBoard event files written in pure JavaScript (no tfjs-node, no native code), laid out as
 * Keras's `TensorBoard` callback does: `epoch_<key>` scalars in the `train/` and `validation/` runs
 * (step = epoch), `batch_<key>` scalars every `updateFreq` steps (step = global step), hyperparameters
 * per param group, the stop reason and other plugins' messages as text, and optional weight
 * histograms. Node only.
 */
export function tensorBoard(options: TensorBoardOptions): Plugin<'@tensorloop/loggers:tensorboard'> {
  checkOptionKeys('tensorBoard()', options, [
    'logDir',
    'updateFreq',
    'histograms',
    'hparams',
    'text',
    'name',
  ]);
  const name = loggerName(options?.name, TENSORBOARD_LOGGER, 'tensorBoard()');
  requireNode(name, 'tensorBoard()');
  const o = checkOptions(name, options);
  const files: Partial<Record<RunName, EventFile>> = {};
  /** Each run's latest file name, open or closed: a new file is named after it. */
  const latest: Partial<Record<RunName, string>> = {};
  let position: TensorBoardPosition = { runs: {} };

  const remember = () => {
    const runs: Record<string, { file: string; bytes: number }> = { ...position.runs };
    for (const run of ['train', 'validation'] as const) {
      const f = files[run];
      if (f) runs[run] = { file: f.name, bytes: f.bytes };
    }
    position = { runs };
  };

  const open = async (run: RunName): Promise<EventFile> => {
    let file = files[run];
    if (!file) {
      file = await EventFile.create(joinPath(o.logDir, run), latest[run]);
      files[run] = file;
      latest[run] = file.name;
      remember();
    }
    return file;
  };

  const write = async (run: RunName, step: number, values: SummaryValue[]) => {
    if (values.length === 0) return;
    const file = await open(run);
    await file.write({ wallTime: Date.now() / 1000, step, summary: { value: values } });
    remember();
  };

  /** Back to the checkpoint: each run's file cut to its recorded length; new events go to new files. */
  const rewind = async (ctx: TrainerContext, saved: TensorBoardPosition) => {
    for (const [run, r] of Object.entries(saved.runs)) {
      const dir = joinPath(o.logDir, run);
      const had = await truncateEventFile(dir, r.file, r.bytes);
      if (had === undefined) {
        ctx.logger.warn(`${dir}/${r.file} is gone: the events it held before the checkpoint are lost.`);
      } else if (had < r.bytes) {
        ctx.logger.warn(
          `${dir}/${r.file} is shorter (${had} bytes) than the checkpoint recorded (${r.bytes}): events before the checkpoint were lost.`,
        );
      }
      const later = (await listEventFiles(dir)).filter((f) => f > r.file);
      if (later.length > 0) {
        ctx.logger.warn(
          `${dir} holds events files written after this checkpoint (${later.join(', ')}), by a run that went on from it: TensorBoard shows their steps too. Delete them if that run is abandoned.`,
        );
      }
      latest[run as RunName] = [r.file, ...later].sort().at(-1);
    }
    position = { runs: { ...saved.runs } };
  };

  const histogramValues = async (ctx: TrainerContext): Promise<SummaryValue[]> => {
    const values: SummaryValue[] = [];
    for (const w of ctx.model.weights) {
      if (!o.histograms!.match(w.originalName)) continue;
      // read() hands out the variable itself (no new tensor); data() copies it to the host.
      const histo = histogramOf((await w.read().data()) as Float32Array);
      if (histo) values.push({ tag: `${w.originalName}/histogram`, histo });
    }
    return values;
  };

  const notIn = (values: Readonly<Record<string, number>>, logs: Readonly<Record<string, number>>) =>
    Object.fromEntries(Object.entries(values).filter(([k]) => !(k in logs)));

  const onEpoch = async (ctx: TrainerContext, e: LoggerEpoch) => {
    // The epoch logs already carry `lr` (as the last step used it): a store value of the same name
    // is not written as a second point of the same tag.
    const train = [...prefixed('epoch_', e.train), ...prefixed('epoch_', notIn(e.hparams, e.train))];
    if (o.histograms && !e.replayed && e.epoch % o.histograms.every === 0)
      train.push(...(await histogramValues(ctx)));
    await write('train', e.epoch, train);
    await write('validation', e.epoch, prefixed('epoch_', e.validation));
  };

  const onStep = async (_ctx: TrainerContext, s: LoggerStep) => {
    await write('train', s.step, [...prefixed('batch_', s.logs), ...prefixed('batch_', s.hparams)]);
  };

  /** One text event per step (TensorBoard shows one value per tag and step). */
  const onMessages = async (_ctx: TrainerContext, messages: readonly LoggerMessage[]) => {
    const bySteps = new Map<number, string[]>();
    for (const m of messages) {
      const line = `**${m.source}**${m.level === 'warn' ? ' (warning)' : ''}: ${m.message}`;
      bySteps.set(m.step, [...(bySteps.get(m.step) ?? []), line]);
    }
    for (const [step, lines] of bySteps) await write('train', step, [text('messages', lines.join('\n\n'))]);
  };

  const closeAll = async () => {
    for (const run of ['train', 'validation'] as const) {
      const f = files[run];
      delete files[run];
      await f?.close();
    }
  };

  const api = {
    logDir: o.logDir,
    get files() {
      const out: Partial<Record<RunName, string>> = {};
      for (const run of ['train', 'validation'] as const) {
        if (latest[run]) out[run] = joinPath(joinPath(o.logDir, run), latest[run]!);
      }
      return out;
    },
  };

  return defineLogger<'@tensorloop/loggers:tensorboard', TensorBoardPosition, typeof api>({
    name: name as typeof TENSORBOARD_LOGGER,
    ...(options.updateFreq === undefined ? {} : { updateFreq: options.updateFreq }),
    ...(options.hparams === undefined ? {} : { hparams: options.hparams }),
    messages: o.text,
    api,
    describe: () => {
      const parts = [`writes ${o.logDir}/{train,validation}`];
      if (typeof options.updateFreq === 'number')
        parts.push(`batch scalars every ${options.updateFreq} steps`);
      if (o.histograms) {
        const n = o.histograms.every;
        parts.push(`weight histograms every ${n === 1 ? 'epoch' : `${n} epochs`}`);
      }
      return parts.join(', ');
    },
    async onStart(ctx, start) {
      if (start.saved) await rewind(ctx, start.saved);
      // Opened now, not at their first event, so that every checkpoint of this fit records both
      // files: a resume then cuts back all that was written after it.
      await open('train');
      if (start.hasValidation) await open('validation');
    },
    onEpoch,
    onStep,
    onMessages,
    async flush() {
      for (const f of Object.values(files)) await f?.sync();
    },
    async onEnd(ctx, end) {
      try {
        const summary =
          o.text && end.failure === undefined ? describeStop(end.stopReason, end.error, ctx.time) : undefined;
        if (summary)
          await write('train', end.stopReason?.time.step ?? ctx.time.step, [text('stop_reason', summary)]);
      } finally {
        await closeAll();
      }
    },
    state: () => position,
    parseState: parsePosition,
  });
}
