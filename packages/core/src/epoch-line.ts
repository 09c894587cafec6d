import { TensorloopError } from './errors.js';
import type { Logs, Plugin } from './plugin.js';

/**
 * Core's one line per epoch (`epoch 3/10 · loss 0.412 · val_loss 0.398 · accuracy 0.87 · 2.1 s`),
 * the `model.fit` habit of seeing something each epoch. Off with `log: 'silent'` or `verbose: 0`,
 * and while a plugin that prints its own epoch summary (`printsEpochSummary: true`, e.g.
 * `@tensorloop/progress`) is registered.
 */

/** tfjs's `verbose`: 0 silent, 1 a progress bar (when `@tensorloop/progress` is installed), 2 one line per epoch. */
export type Verbosity = 0 | 1 | 2;

export function checkVerbose(value: unknown): Verbosity | undefined {
  if (value === undefined) return undefined;
  if (value === 0 || value === 1 || value === 2) return value;
  throw new TensorloopError(
    'TL_OPTION_INVALID',
    `verbose must be 0 (silent), 1 (a progress bar with @tensorloop/progress, else one line per epoch) or 2 (one line per epoch), as in tfjs; got ${JSON.stringify(value)}.`,
  );
}

/** Keys the line leaves out: the smoothed loss and learning rates are in `history`, not worth a column. */
const QUIET_KEY = /^(smooth_loss|lr(\/.*)?)$/;

/** Three significant digits, exponent for the very small and the very large: 0.412, 0.87, 1.2e-4. */
export function formatLogValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const size = Math.abs(value);
  if (value !== 0 && (size < 1e-3 || size >= 1e5)) return value.toExponential(1);
  return String(Number(value.toPrecision(3)));
}

/** `loss` first, then `val_loss`, then every other key in log order (metrics, their `val_` twins, plugin keys). */
export function formatEpochLine(
  fitEpoch: number,
  epochs: number,
  logs: Logs,
  seconds: number,
  partial = false,
): string {
  const keys = Object.keys(logs).filter((k) => logs[k] !== undefined && !QUIET_KEY.test(k));
  const first = ['loss', 'val_loss'].filter((k) => keys.includes(k));
  const ordered = [...first, ...keys.filter((k) => !first.includes(k))];
  const parts = [
    `epoch ${fitEpoch + 1}/${epochs}${partial ? ' (cut short)' : ''}`,
    ...ordered.map((k) => `${k} ${formatLogValue(logs[k]!)}`),
    `${seconds.toFixed(1)} s`,
  ];
  return parts.join(' · ');
}

/** Who may print the line this fit: nobody when silenced or when a plugin prints its own summary. */
export function epochLineWanted(
  log: unknown,
  verbose: Verbosity | undefined,
  plugins: readonly Plugin[],
): boolean {
  if (log === 'silent' || verbose === 0) return false;
  return !plugins.some((p) => p.printsEpochSummary === true);
}

/** What the fit loop tells after each epoch's `onEpochEnd`. */
export interface EpochDone {
  readonly fitEpoch: number;
  readonly epochs: number;
  readonly logs: Logs;
  readonly seconds: number;
  readonly partial: boolean;
}

/**
 * The line's printer: `print` goes to the `log` option's sink (the console, or your `log: fn` as an
 * info entry from `trainer`), not to plugins subscribed to the logger (they have the logs).
 */
export function epochLinePrinter(
  print: (message: string) => void,
  wanted: () => boolean,
): (done: EpochDone) => void {
  return (done) => {
    if (!wanted()) return;
    print(formatEpochLine(done.fitEpoch, done.epochs, done.logs, done.seconds, done.partial));
  };
}
