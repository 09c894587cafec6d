import { TensorloopError } from './errors.js';
import { closestKey } from './option-keys.js';
import type { Plugin } from './plugin.js';

/** tfjs's `model.fit` spells accuracy `acc`; a monitor spelled that way reads the tensorloop key. */
const MONITOR_ALIASES: Readonly<Record<string, string>> = { acc: 'accuracy', val_acc: 'val_accuracy' };

/** What a fit's epoch logs are made of, known before its first step. */
export interface FitLogKeySources {
  /** The loss and metric names, as the step logs them (`loss`, `accuracy`, ...). */
  readonly stepKeys: readonly string[];
  /** Hyperparameter keys (`lr`, `lr/<group>`). */
  readonly hyperparamKeys: readonly string[];
  readonly hasValidation: boolean;
  readonly plugins: readonly Pick<Plugin, 'name' | 'logKeys'>[];
}

/**
 * Every key the epoch logs of a fit will hold: the loss and metrics, `smooth_loss`, the
 * hyperparameters, their `val_` twins when there is validation data, and what plugins declare in
 * `logKeys`. Sorted as a user reads them: step keys, validation keys, then the rest.
 */
export function fitLogKeys(sources: FitLogKeySources): string[] {
  const keys = [...sources.stepKeys, 'smooth_loss'];
  if (sources.hasValidation) keys.push(...sources.stepKeys.map((k) => `val_${k}`));
  keys.push(...sources.hyperparamKeys);
  for (const plugin of sources.plugins) keys.push(...(plugin.logKeys ?? []));
  return [...new Set(keys)];
}

/** The key a monitor reads among `keys`: itself, or the tensorloop key of a tfjs alias; undefined if none. */
export function resolveLogKey(monitor: string, keys: readonly string[]): string | undefined {
  if (keys.includes(monitor)) return monitor;
  const alias = MONITOR_ALIASES[monitor];
  return alias !== undefined && keys.includes(alias) ? alias : undefined;
}

/**
 * Refuses, at fit start, a monitor the fit will never log (a typo, a `val_` key without validation
 * data, a key no plugin declares), with `TL_MONITOR_UNKNOWN` naming the available keys and the
 * closest one, instead of failing after the first epoch. `keys` is `FitStartEvent.logKeys`.
 */
export function checkMonitorKey(
  monitor: string,
  keys: readonly string[],
  plugin: string,
  options: {
    /** The option naming the monitor, for the message (`'monitor'`, `'stages[2].monitor'`). */
    readonly option?: string;
    /** A sentence for this plugin's case (what else the key is for, how to do without it). */
    readonly hint?: string | undefined;
  } = {},
): void {
  const option = options.option ?? 'monitor';
  if (resolveLogKey(monitor, keys) !== undefined) return;
  const near = closestKey(monitor, keys);
  const valHint =
    monitor.startsWith('val_') && !keys.some((k) => k.startsWith('val_'))
      ? ' val_ keys need validation data: pass validationData to fit().'
      : '';
  throw new TensorloopError(
    'TL_MONITOR_UNKNOWN',
    `[${plugin}] ${option} "${monitor}" is not a key this fit logs${near === undefined ? '' : `; did you mean "${near}"?`}` +
      ` This fit logs: ${keys.join(', ') || 'none'}.${valHint}` +
      ' A key written by a plugin must be declared in its logKeys.' +
      (options.hint === undefined ? '' : ` ${options.hint}`),
    { plugin },
  );
}
