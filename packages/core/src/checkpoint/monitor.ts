import { TensorloopError } from '../errors.js';
import { type MonitorMode, resolveMonitorMode } from '../monitor-mode.js';
import type { Logger, Logs } from '../plugin.js';

export type { MonitorMode };

/** The shared rule for `mode: 'auto'` (see `resolveMonitorMode`); refuses keys it cannot read. */
export function resolveMode(monitor: string, mode: MonitorMode): 'min' | 'max' {
  return resolveMonitorMode(monitor, mode);
}

/**
 * tfjs's `model.fit` logs `acc` / `val_acc`; tensorloop logs `accuracy` / `val_accuracy` (Keras 2.3+
 * and the metric's own name). A monitor spelled the tfjs way reads the tensorloop key.
 */
const LOG_KEY_ALIASES: Readonly<Record<string, string>> = { acc: 'accuracy', val_acc: 'val_accuracy' };
const aliasNoted = new WeakMap<Logger, Set<string>>();

/**
 * The monitored value of an epoch's logs, or a coded error listing what is there. `acc`/`val_acc`
 * read `accuracy`/`val_accuracy` (said once per logger, when one is given).
 */
export function readMonitor(logs: Logs, monitor: string, plugin: string, logger?: Logger): number {
  let value = logs[monitor];
  const alias = LOG_KEY_ALIASES[monitor];
  if (typeof value !== 'number' && alias !== undefined && typeof logs[alias] === 'number') {
    value = logs[alias];
    if (logger) {
      const noted = aliasNoted.get(logger) ?? new Set<string>();
      if (!noted.has(monitor))
        logger.info(`monitors "${monitor}" (tfjs's spelling): reading "${alias}", the key tensorloop logs.`);
      noted.add(monitor);
      aliasNoted.set(logger, noted);
    }
  }
  if (typeof value !== 'number') {
    throw new TensorloopError(
      'TL_MONITOR_UNKNOWN',
      `[${plugin}] monitors "${monitor}", which is not in the epoch logs. Available keys: ${Object.keys(logs).join(', ') || 'none'}.${
        monitor.startsWith('val_') ? ' (val_ keys need validationData in fit().)' : ''
      }`,
      { plugin },
    );
  }
  return value;
}

/** Strictly better (ties never replace the best). */
export function isBetter(value: number, than: number, mode: 'min' | 'max', minDelta = 0): boolean {
  return mode === 'min' ? value < than - minDelta : value > than + minDelta;
}
