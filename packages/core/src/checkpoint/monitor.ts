import { TensorloopError } from '../errors.js';
import { type MonitorMode, resolveMonitorMode } from '../monitor-mode.js';
import type { Logs } from '../plugin.js';

export type { MonitorMode };

/** The shared rule for `mode: 'auto'` (see `resolveMonitorMode`); refuses keys it cannot read. */
export function resolveMode(monitor: string, mode: MonitorMode): 'min' | 'max' {
  return resolveMonitorMode(monitor, mode);
}

/** The monitored value of an epoch's logs, or a coded error listing what is there. */
export function readMonitor(logs: Logs, monitor: string, plugin: string): number {
  const value = logs[monitor];
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
