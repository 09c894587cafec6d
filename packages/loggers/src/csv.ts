import { checkOptionKeys, type Plugin, TensorloopError, type TrainerContext } from '@tensorloop/core';
import { completeLines, formatNumber, formatRow, MISSING, parseRow } from './csv-format.js';
import { defineLogger, type LoggerApi, type LoggerEpoch } from './define-logger.js';
import type { HparamSelection } from './hparams.js';
import { byteLength, LogFile, writeWholeFile } from './log-file.js';
import { loggerName } from './logger-name.js';
import { requireNode } from './node-env.js';

export const CSV_LOGGER = '@tensorloop/loggers:csv';

export interface CsvLoggerOptions {
  /** The CSV file (its folder is created). */
  readonly path: string;
  /** Continue an existing file (its header and rows are kept) instead of starting it afresh at each fit. Default false (Keras). */
  readonly append?: boolean;
  /** Cell separator. Default `','`. */
  readonly separator?: string;
  /** Hyperparameters as extra columns (`lr`, `lr/<group>`). Default none: the epoch logs only, as Keras. */
  readonly hparams?: HparamSelection;
  /** Plugin name, for several CSV loggers in one trainer. Default `'@tensorloop/loggers:csv'`. */
  readonly name?: string;
}

/** Where the CSV file is, checkpointed: a resume cuts the file back to these rows. */
export type CsvPosition = {
  readonly file: string;
  /** Header cells (`epoch` first); empty before the first epoch. */
  readonly columns: string[];
  /** Data rows written. */
  readonly rows: number;
  readonly bytes: number;
};

export interface CsvLoggerApi extends LoggerApi {
  readonly path: string;
  readonly columns: readonly string[];
  readonly rows: number;
}

const decoder = new TextDecoder();

function checkOptions(name: string, options: CsvLoggerOptions): { path: string; separator: string } {
  if (typeof options?.path !== 'string' || options.path === '') {
    throw new TensorloopError('TL_OPTION_INVALID', `[${name}] csvLogger(): path must be a file path.`, {
      plugin: name,
    });
  }
  const separator = options.separator ?? ',';
  if (typeof separator !== 'string' || separator === '' || /["\r\n]/.test(separator)) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `[${name}] csvLogger(): separator must be a non-empty string without quotes or line breaks; got ${JSON.stringify(separator)}.`,
      { plugin: name },
    );
  }
  return { path: options.path, separator };
}

function parsePosition(saved: unknown): CsvPosition {
  const s = saved as CsvPosition;
  const valid =
    typeof s === 'object' &&
    s !== null &&
    typeof s.file === 'string' &&
    Array.isArray(s.columns) &&
    s.columns.every((c) => typeof c === 'string') &&
    Number.isInteger(s.rows) &&
    s.rows >= 0 &&
    Number.isInteger(s.bytes) &&
    s.bytes >= 0;
  if (!valid) throw new Error('expected { file, columns, rows, bytes } as written by csvLogger');
  return s;
}

/**
 * Keras's `CSVLogger`: one row per epoch, `epoch` then the sorted keys of the first epoch's logs;
 * a key missing in a later epoch is `NA`. Unlike Keras (which drops them), a key that appears later
 * adds a column, with a warning. The position is checkpointed: a resumed run cuts the file back to
 * the checkpoint's rows and continues, so it ends up byte for byte as an uninterrupted run's.
 */
export function csvLogger(options: CsvLoggerOptions): Plugin<'@tensorloop/loggers:csv'> {
  checkOptionKeys('csvLogger()', options, ['path', 'append', 'separator', 'hparams', 'name']);
  const name = loggerName(options?.name, CSV_LOGGER, 'csvLogger()');
  requireNode(name, 'csvLogger()');
  const { path, separator } = checkOptions(name, options);
  const append = options.append ?? false;
  let file: LogFile | undefined;
  let columns: string[] | undefined;
  let rows = 0;
  let position: CsvPosition | undefined;

  const remember = () => {
    position = { file: path, columns: [...(columns ?? [])], rows, bytes: file?.bytes ?? 0 };
  };
  const startAfresh = async () => {
    file = await LogFile.create(path);
    columns = undefined;
    rows = 0;
  };

  /** `append`: keep the file's header and complete rows (a torn last line from a crash is cut). */
  const continueFile = async () => {
    const bytes = await LogFile.read(path);
    const lines = bytes === undefined ? [] : completeLines(decoder.decode(bytes));
    if (lines.length === 0) return startAfresh();
    columns = parseRow(lines[0]!, separator);
    rows = lines.length - 1;
    file = await LogFile.continue(path, byteLength(lines.map((l) => `${l}\n`).join('')));
  };

  /** Back to the checkpoint: its header and first `saved.rows` rows, whatever was written after it. */
  const rewind = async (ctx: TrainerContext, saved: CsvPosition) => {
    const bytes = await LogFile.read(path);
    if (bytes === undefined && saved.rows > 0) {
      ctx.logger.warn(
        `${path} is gone; the checkpoint recorded ${saved.rows} rows in it. Starting it again from the resumed epoch (the earlier rows are in trainer.history).`,
      );
    }
    const text = bytes === undefined ? '' : decoder.decode(bytes);
    const lines = completeLines(text);
    const data = lines.slice(1);
    if (bytes !== undefined && data.length < saved.rows) {
      ctx.logger.warn(
        `${path} has ${data.length} rows but the checkpoint recorded ${saved.rows}: rows were lost after it was taken (was the file edited?). Continuing after the rows that are there.`,
      );
    }
    const kept = data.slice(0, saved.rows);
    let content = '';
    if (saved.columns.length > 0) {
      const header = lines[0] === undefined ? [] : parseRow(lines[0], separator);
      const same = header.length === saved.columns.length && header.every((c, i) => c === saved.columns[i]);
      // A column added after the checkpoint is dropped again (the resumed run adds it back when it comes).
      const project = (line: string) => {
        const cells = parseRow(line, separator);
        return formatRow(
          saved.columns.map((c) => {
            const at = header.indexOf(c);
            return at < 0 ? MISSING : (cells[at] ?? MISSING);
          }),
          separator,
        );
      };
      content = same
        ? [lines[0]!, ...kept].map((l) => `${l}\n`).join('')
        : formatRow(saved.columns, separator) + kept.map(project).join('');
    }
    if (!text.startsWith(content)) await writeWholeFile(path, content);
    file = await LogFile.continue(path, byteLength(content));
    columns = saved.columns.length > 0 ? [...saved.columns] : undefined;
    rows = kept.length;
  };

  const addColumns = async (ctx: TrainerContext, epoch: number, added: string[]) => {
    ctx.logger.warn(
      `epoch ${epoch} has ${added.length === 1 ? 'a new key' : 'new keys'} ${added.map((k) => `"${k}"`).join(', ')}: added ${added.length === 1 ? 'a column' : 'columns'} to ${path} (earlier rows get ${MISSING}). Keras's CSVLogger would drop ${added.length === 1 ? 'it' : 'them'}.`,
    );
    const before = columns!;
    const after = [...before, ...added];
    const bytes = (await LogFile.read(path)) ?? new Uint8Array();
    const old = completeLines(decoder.decode(bytes.subarray(0, file!.bytes))).slice(1);
    const padded = old.map((line) =>
      formatRow([...parseRow(line, separator), ...added.map(() => MISSING)], separator),
    );
    await file!.replace(formatRow(after, separator) + padded.join(''));
    columns = after;
  };

  const onEpoch = async (ctx: TrainerContext, e: LoggerEpoch) => {
    const values: Record<string, number> = { ...e.hparams, ...e.logs }; // the logs' `lr` wins
    delete values.epoch;
    const keys = Object.keys(values);
    let text = '';
    if (columns === undefined) {
      columns = ['epoch', ...keys.sort()];
      text = formatRow(columns, separator);
    } else {
      const added = keys.filter((k) => !columns!.includes(k)).sort();
      if (added.length > 0) await addColumns(ctx, e.epoch, added);
    }
    const cells = columns.map((c) => (c === 'epoch' ? String(e.epoch) : formatNumber(values[c])));
    await file!.append(text + formatRow(cells, separator));
    rows += 1;
    remember();
  };

  const api = {
    path,
    get columns() {
      return columns ?? [];
    },
    get rows() {
      return rows;
    },
  };

  return defineLogger<'@tensorloop/loggers:csv', CsvPosition, typeof api>({
    name: name as typeof CSV_LOGGER,
    hparams: options.hparams ?? false,
    api,
    describe: () => `writes ${path}${append ? ' (append)' : ''}`,
    async onStart(ctx, start) {
      if (start.saved) await rewind(ctx, start.saved);
      else {
        if (start.resumed) {
          ctx.logger.warn(
            `resuming, but the checkpoint holds no state for this logger: ${path} is ${append ? 'continued as it is' : 'started afresh'}.`,
          );
        }
        await (append ? continueFile() : startAfresh());
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
    state: () => position ?? { file: path, columns: [], rows: 0, bytes: 0 },
    parseState: parsePosition,
  });
}
