import { formatHparam } from '@tensorloop/core';
import { type Schedule, valueAt } from './schedules.js';

/** A schedule's values at every unit of a span (sampled at most `maxPoints` times, ends included). */
export function sampleCurve(
  schedule: Schedule,
  total: number,
  maxPoints = 2000,
): { index: number; value: number }[] {
  const units = Math.max(1, Math.floor(total));
  const count = Math.min(units, maxPoints);
  const out: { index: number; value: number }[] = [];
  for (let i = 0; i < count; i++) {
    const index = count === 1 ? 0 : Math.round((i * (units - 1)) / (count - 1));
    out.push({ index, value: valueAt(schedule, index, units) });
  }
  return out;
}

/** `1e-3 → peak 0.01 at step 25 → 4e-7 at step 99`: start, peak (and low point when it is inside), end. */
export function summarizeCurve(schedule: Schedule, total: number, unit: string): string {
  const curve = sampleCurve(schedule, total);
  const first = curve[0]!;
  const last = curve[curve.length - 1]!;
  let peak = first;
  let low = first;
  for (const point of curve) {
    if (point.value > peak.value) peak = point;
    if (point.value < low.value) low = point;
  }
  const parts = [`start ${formatHparam(first.value)}`];
  if (peak !== first && peak !== last)
    parts.push(`peak ${formatHparam(peak.value)} at ${unit} ${peak.index}`);
  if (low !== first && low !== last) parts.push(`low ${formatHparam(low.value)} at ${unit} ${low.index}`);
  parts.push(`end ${formatHparam(last.value)} at ${unit} ${last.index}`);
  return parts.join(' → ');
}
