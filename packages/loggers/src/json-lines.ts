import { checkOptionKeys, type Plugin, TensorloopError, type TrainerContext } from '@tensorloop/core';
import { completeLines } from './csv-format.js';
import { defineLogger, type LoggerApi, type LoggerEpoch } from './define-logger.js';
import type { HparamSelection } from './hparams.js';
import { byteLength, LogFile } from './log-file.js';
import { loggerName } from './logger-name.js';
import { requireNode } from './node-env.js';

export const JSON_LINES_LOGGER = '@tensorloop/loggers:jsonl';

export interface JsonLinesOptions {
  /** The `.jsonl` file (its folder is created). */
  readonly path: string;
  /** Continue an existing file instead of starting it afresh at each fit. Default false. */
  readonly append?: boolean;
  /** Hyperparameters in each line (`lr`, `lr/<group>`). Default `['lr', 'momentum', 'beta1']` (those present). */
  readonly hparams?: HparamSelection;
  /** Add `"time"` (ISO 8601 wall-clock time of the epoch end) to each line. Default true. */
  readonly timestamps?: boolean;
  /** Plugin name, for several JSON-lines loggers in one trainer. Default `'@tensorloop/loggers:jsonl'`. */
  readonly name?: string;
}

/** Where the file is, checkpointed: a resume cuts the file back to these lines. */
export type JsonLinesPosition = { readonly file: string; readonly rows: number; readonly bytes: number };

export interface JsonLinesApi extends LoggerApi {
  readonly path: string;
  readonly rows: number;
}

const decoder = new TextDecoder();

/** JSON has no NaN or Infinity: they are written as null. */
const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);

function parsePosition(saved: unknown): JsonLinesPosition {
  const s = saved as JsonLinesPosition;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.file !== 'string' ||
    !Number.isInteger(s.rows) ||
    s.rows < 0 ||
    !Number.isInteger(s.bytes) ||
    s.bytes < 0
  ) {
    throw new Error('expected { file, rows, bytes } as written by jsonLines');
  }
  return s;
}

/**
 * One JSON object per epoch and line: `{"epoch":0,"step":32,"loss":…,"val_loss":…,"lr":…,"time":"…"}`.
 * The position is checkpointed: a resumed run cuts the file back to the checkpoint's lines and
 * continues, so it ends up as an uninterrupted run's.
 */
export function jsonLines(options: JsonLinesOptions): Plugin<'@tensorloop/loggers:jsonl'> {
  checkOptionKeys('jsonLines()', options, ['path', 'append', 'hparams', 'timestamps', 'name']);
  const name = loggerName(options?.name, JSON_LINES_LOGGER, 'jsonLines()');
  requireNode(name, 'jsonLines()');
  if (typeof options?.path !== 'string' || options.path === '') {
    throw new TensorloopError('TL_OPTION_INVALID', `[${name}] jsonLines(): path must be a file path.`, {
      plugin: name,
    });
  }
  const path = options.path;
  const append = options.append ?? false;
  const timestamps = options.timestamps ?? true;
  let file: LogFile | undefined;
  let rows = 0;
  let position: JsonLinesPosition | undefined;

  const remember = () => {
    position = { file: path, rows, bytes: file?.bytes ?? 0 };
  };

  /** Keeps the first `keep` complete lines of the file (all of them when undefined). */
  const keepLines = async (ctx: TrainerContext, keep: number | undefined) => {
    const bytes = await LogFile.read(path);
    if (bytes === undefined) {
      if (keep) {
        ctx.logger.warn(
          `${path} is gone; the checkpoint recorded ${keep} lines in it. Starting it again from the resumed epoch.`,
        );
      }
      file = await LogFile.create(path);
      rows = 0;
      return;
    }
    const lines = completeLines(decoder.decode(bytes));
    if (keep !== undefined && lines.length < keep) {
      ctx.logger.warn(
        `${path} has ${lines.length} lines but the checkpoint recorded ${keep}: lines were lost after it was taken. Continuing after the lines that are there.`,
      );
    }
    const kept = lines.slice(0, keep ?? lines.length);
    file = await LogFile.continue(path, byteLength(kept.map((l) => `${l}\n`).join('')));
    rows = kept.length;
  };

  const onEpoch = async (_ctx: TrainerContext, e: LoggerEpoch) => {
    const line: Record<string, number | string | null> = { epoch: e.epoch, step: e.step ?? null };
    for (const [key, value] of Object.entries(e.logs)) line[key] = finiteOrNull(value);
    for (const [key, value] of Object.entries(e.hparams))
      if (!(key in e.logs)) line[key] = finiteOrNull(value); // the logs' `lr` wins
    if (timestamps) line.time = new Date().toISOString();
    await file!.append(`${JSON.stringify(line)}\n`);
    rows += 1;
    remember();
  };

  const api = {
    path,
    get rows() {
      return rows;
    },
  };

  return defineLogger<'@tensorloop/loggers:jsonl', JsonLinesPosition, typeof api>({
    name: name as typeof JSON_LINES_LOGGER,
    ...(options.hparams === undefined ? {} : { hparams: options.hparams }),
    api,
    describe: () => `writes ${path}${append ? ' (append)' : ''}`,
    async onStart(ctx, start) {
      if (start.saved) await keepLines(ctx, start.saved.rows);
      else {
        if (start.resumed) {
          ctx.logger.warn(
            `resuming, but the checkpoint holds no state for this logger: ${path} is ${append ? 'continued as it is' : 'started afresh'}.`,
          );
        }
        if (append) await keepLines(ctx, undefined);
        else {
          file = await LogFile.create(path);
          rows = 0;
        }
      }
      remember();
    },
    onEpoch,
    async flush() {
      await file?.sync();
    },
    async onEnd() {
      const open = file;
      file = undefined;
      await open?.close();
    },
    state: () => position ?? { file: path, rows: 0, bytes: 0 },
    parseState: parsePosition,
  });
}
