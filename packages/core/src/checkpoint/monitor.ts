import { TensorloopError } from '../errors.js';
import type { Logs } from '../plugin.js';

export type MonitorMode = 'auto' | 'min' | 'max';

/** Keras's rule for `mode: 'auto'`: accuracy-like keys are maximized, everything else minimized. */
export function resolveMode(monitor: string, mode: MonitorMode): 'min' | 'max' {
  if (mode !== 'auto') return mode;
  return /(^|_)(acc|accuracy)$/.test(monitor) || monitor.endsWith('Accuracy') ? 'max' : 'min';
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
