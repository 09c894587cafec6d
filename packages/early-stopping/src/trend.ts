// Plain-language descriptions of what the monitored curve is doing, for people who are just starting.
import type { EpochRecord } from '@tensorloop/core';

/** Four significant digits; NaN and infinities spelled out. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

export function describeFirst(monitor: string, value: number): string {
  return `${monitor} = ${formatValue(value)}, the first value: best so far`;
}

export function describeImprovement(monitor: string, previous: number, value: number): string {
  return `${monitor} improved by ${formatValue(Math.abs(previous - value))} to ${formatValue(value)}: best so far`;
}

export function describeBelowBaseline(
  monitor: string,
  baseline: number,
  wait: number,
  patience: number,
): string {
  return `${monitor} has not reached the baseline ${formatValue(baseline)} yet (${wait} of ${Math.max(patience, 1)} epochs)`;
}

export function describeWait(
  monitor: string,
  wait: number,
  patience: number,
  best: number | undefined,
  bestEpoch: number | undefined,
): string {
  const of = patience > 0 ? ` for ${wait} of ${patience} epochs` : '';
  const since = best === undefined ? '' : ` (best ${formatValue(best)} at epoch ${bestEpoch})`;
  return `no improvement in ${monitor}${of}${since}`;
}

export function describeWarmup(monitor: string, value: number, watchFrom: number): string {
  return `warming up: ${monitor} = ${formatValue(value)}, watching from epoch ${watchFrom}`;
}

/** The training counterpart of a validation key (`val_loss` → `loss`), if the logs have it. */
export function counterpartOf(monitor: string, logs: EpochRecord['logs']): string | undefined {
  if (!monitor.startsWith('val_')) return undefined;
  const key = monitor.slice(4);
  return typeof logs[key] === 'number' ? key : undefined;
}

/**
 * How many epochs in a row (ending with the last record) `monitor` got worse, and what its training
 * counterpart did over the same epochs. A message once the streak is 2 epochs or longer:
 * `val_loss rising for 3 epochs while loss falls: overfitting`.
 */
export function describeTrend(
  monitor: string,
  mode: 'min' | 'max',
  records: readonly EpochRecord[],
): string | undefined {
  const values = records.map((r) => r.logs[monitor]).filter((v): v is number => typeof v === 'number');
  if (values.length !== records.length) return undefined;
  const worse = (a: number, b: number) => (mode === 'min' ? b > a : b < a);
  let streak = 0;
  for (let i = values.length - 1; i > 0 && worse(values[i - 1]!, values[i]!); i--) streak++;
  if (streak < 2) return undefined;
  const worsening = mode === 'min' ? 'rising' : 'falling';
  const last = records[records.length - 1]!;
  const start = records[records.length - 1 - streak]!;
  const train = counterpartOf(monitor, last.logs);
  const head = `${monitor} ${worsening} for ${streak} epochs`;
  const from = train === undefined ? undefined : start.logs[train];
  const to = train === undefined ? undefined : last.logs[train];
  if (train === undefined || from === undefined || to === undefined) return head;
  if (worse(to, from)) return `${head} while ${train} ${mode === 'min' ? 'falls' : 'rises'}: overfitting`;
  if (worse(from, to)) {
    return `${head}, and ${train} too: training is unstable (a learning rate too high?)`;
  }
  return head;
}
