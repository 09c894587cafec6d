import { checkOptionKeys, describeValue, TensorloopError } from '@tensorloop/core';

/** Where the lines go: a Node stream (`process.stdout`), or anything with `write`. */
export interface ProgressStream {
  write(text: string): unknown;
  /** A terminal: the bar is drawn in place. Otherwise plain lines. */
  readonly isTTY?: boolean;
  /** Terminal width; 80 when unknown. */
  readonly columns?: number;
}

export interface ProgressOptions {
  /** Where to write. Default: `process.stdout` in Node, `console.log` in a browser. */
  readonly stream?: ProgressStream;
  /** Draw a bar: `'auto'` when the stream is a terminal (`isTTY`), else plain lines. Default `'auto'`. */
  readonly tty?: 'auto' | boolean;
  /** Read the batch loss and redraw at most this often (ms). Default 250. */
  readonly refreshMs?: number;
  /** Without a terminal: also print a progress line this often inside long epochs (ms). Default 10,000. */
  readonly plainEveryMs?: number;
  /** β of the smoothed loss shown in the bar (per batch, as the trainer's `smooth_loss`). Default 0.98. */
  readonly smoothing?: number;
  /** Print the messages plugins write to the trainer's logger (under the epoch's summary). Default true. */
  readonly messages?: boolean | 'warn';
  /** Hyperparameters shown in each epoch summary (value of every param group). Default `['lr']`. */
  readonly hparams?: readonly string[];
  /** Width of the bar in characters. Default 24. */
  readonly barWidth?: number;
  /** Print nothing and read nothing. Default false. */
  readonly silent?: boolean;
  /** Plugin name. Default `@tensorloop/progress`. */
  readonly name?: string;
}

export interface ResolvedProgressOptions {
  readonly stream: ProgressStream | undefined;
  readonly tty: 'auto' | boolean;
  readonly refreshMs: number;
  readonly plainEveryMs: number;
  readonly smoothing: number;
  readonly messages: boolean | 'warn';
  readonly hparams: readonly string[];
  readonly barWidth: number;
  readonly silent: boolean;
  readonly name: string;
}

function invalid(message: string): never {
  throw new TensorloopError('TL_OPTION_INVALID', `progress: ${message}`);
}

function positive(value: number, what: string, allowZero = false): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && (allowZero ? value >= 0 : value > 0)))
    invalid(
      `${what} must be a ${allowZero ? 'non-negative' : 'positive'} number of milliseconds, got ${describeValue(value)}.`,
    );
  return value;
}

const OPTION_KEYS = [
  'stream',
  'tty',
  'refreshMs',
  'plainEveryMs',
  'smoothing',
  'messages',
  'hparams',
  'barWidth',
  'silent',
  'name',
];

export function resolveOptions(options: ProgressOptions): ResolvedProgressOptions {
  checkOptionKeys('progress()', options, OPTION_KEYS);
  const o = options ?? {};
  const refreshMs = positive(o.refreshMs ?? 250, 'refreshMs', true);
  const plainEveryMs = positive(o.plainEveryMs ?? 10_000, 'plainEveryMs');
  const smoothing = o.smoothing ?? 0.98;
  if (!(typeof smoothing === 'number' && smoothing >= 0 && smoothing < 1))
    invalid(`smoothing must be in [0, 1), got ${describeValue(smoothing)}.`);
  const tty = o.tty ?? 'auto';
  if (tty !== 'auto' && typeof tty !== 'boolean')
    invalid(`tty must be 'auto', true or false, got ${describeValue(tty)}.`);
  const messages = o.messages ?? true;
  if (messages !== 'warn' && typeof messages !== 'boolean')
    invalid(`messages must be true, false or 'warn', got ${describeValue(messages)}.`);
  const barWidth = o.barWidth ?? 24;
  if (!(Number.isInteger(barWidth) && barWidth >= 4 && barWidth <= 200))
    invalid(`barWidth must be an integer from 4 to 200, got ${describeValue(barWidth)}.`);
  if (o.stream !== undefined && typeof o.stream?.write !== 'function')
    invalid('stream must have a write(text) method (a Node stream such as stdout, or { write }).');
  const hparams = o.hparams ?? ['lr'];
  if (!Array.isArray(hparams) || hparams.some((h) => typeof h !== 'string'))
    invalid('hparams must be an array of hyperparameter names.');
  return {
    stream: o.stream,
    tty,
    refreshMs,
    plainEveryMs,
    smoothing,
    messages,
    hparams,
    barWidth,
    silent: o.silent === true,
    name: o.name ?? '@tensorloop/progress',
  };
}
