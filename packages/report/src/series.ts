import type { ReportHistory } from './types.js';

/** Plot rows derived from `history.json`: what each chart draws, and what the browser test checks. */

export interface Row {
  readonly x: number;
  readonly value: number;
  readonly series: string;
}

export interface Marker {
  readonly x: number;
  readonly label: string;
  readonly kind: 'phase' | 'stage' | 'stop' | 'fit';
}

/** Log keys grouped by what they measure: `loss` with `val_loss`, `accuracy` with `val_accuracy`. */
export function logFamilies(history: ReportHistory): Map<string, string[]> {
  const families = new Map<string, string[]>();
  for (const e of history.epochs) {
    for (const [key, value] of Object.entries(e.logs)) {
      // `lr` / `lr/<group>` (core logs them per epoch) are drawn per step with the hyperparameters.
      if (key === 'smooth_loss' || key === 'lr' || key.startsWith('lr/') || typeof value !== 'number')
        continue;
      const family = key.startsWith('val_') ? key.slice(4) : key;
      const keys = families.get(family) ?? [];
      if (!keys.includes(key)) keys.push(key);
      families.set(family, keys);
    }
  }
  for (const keys of families.values())
    keys.sort((a, b) => Number(a.startsWith('val_')) - Number(b.startsWith('val_')));
  // loss first, the rest in the order they appeared
  return new Map([...families].sort(([a], [b]) => Number(b === 'loss') - Number(a === 'loss')));
}

/** One point per epoch and key (non-finite values are left out: a NaN cannot be drawn). */
export function familyRows(history: ReportHistory, keys: readonly string[]): Row[] {
  const rows: Row[] = [];
  for (const e of history.epochs) {
    for (const key of keys) {
      const value = e.logs[key];
      if (typeof value === 'number' && Number.isFinite(value)) rows.push({ x: e.x, value, series: key });
    }
  }
  return rows;
}

/** Hyperparameters with a momentum role, in the order one-cycle looks for them. */
export const MOMENTUM_NAMES = ['beta1', 'momentum', 'alpha'] as const;

export interface HparamChart {
  readonly name: string;
  readonly series: { readonly label: string; readonly points: readonly { x: number; value: number }[] }[];
}

function seriesLabel(name: string, group: string | null, groups: number): string {
  if (group === null) return name;
  return groups === 1 ? (group === 'default' ? name : group) : group;
}

/**
 * Hyperparameter charts: `lr` per group; the momentum-like value the optimizer has; any other
 * value that changed during the run (weight decay, a loss weight).
 */
export function hparamCharts(history: ReportHistory, end: number): HparamChart[] {
  const byName = new Map<string, ReportHistory['hparams'][number][]>();
  for (const h of history.hparams) {
    if (h.points.length === 0) continue;
    byName.set(h.name, [...(byName.get(h.name) ?? []), h]);
  }
  const varies = (list: ReportHistory['hparams'][number][]) =>
    list.some((h) => h.points.some((p) => p.value !== h.points[0]!.value));
  const names: string[] = [];
  if (byName.has('lr')) names.push('lr');
  const momentum = MOMENTUM_NAMES.find((m) => byName.has(m) && varies(byName.get(m)!));
  const anyMomentum = momentum ?? MOMENTUM_NAMES.find((m) => byName.has(m));
  if (anyMomentum) names.push(anyMomentum);
  for (const [name, list] of byName) {
    if (!names.includes(name) && !(MOMENTUM_NAMES as readonly string[]).includes(name) && varies(list))
      names.push(name);
  }
  return names.map((name) => {
    const list = byName.get(name)!;
    return {
      name,
      series: list.map((h) => {
        const points = h.points.map((p) => ({ x: p.x, value: p.value }));
        // Hold the last value to the end of what was recorded, so a constant value draws a line.
        const last = points.at(-1);
        if (last && last.x < end) points.push({ x: end, value: last.value });
        return { label: seriesLabel(name, h.group, list.length), points };
      }),
    };
  });
}

/** Phase and stage boundaries, stops, and (with several fits) fit starts: drawn on every time plot. */
export function markers(history: ReportHistory): Marker[] {
  const out: Marker[] = [];
  for (const e of history.events) {
    if (e.kind === 'phase' || e.kind === 'stage' || e.kind === 'stop')
      out.push({ x: e.x, label: e.label, kind: e.kind });
    else if (e.kind === 'fit' && history.fits.length > 1) out.push({ x: e.x, label: e.label, kind: 'fit' });
  }
  return out;
}

/** Where the time axis ends: the last thing recorded. */
export function timeEnd(history: ReportHistory): number {
  let end = 0;
  for (const e of history.epochs) end = Math.max(end, e.x);
  for (const h of history.hparams) for (const p of h.points) end = Math.max(end, p.x);
  for (const e of history.events) end = Math.max(end, e.x);
  return end;
}

/**
 * Largest-Triangle-Three-Buckets (Steinarsson 2013): `max` points that keep the shape of a long
 * series (peaks and drops survive), first and last point kept.
 */
export function downsample<P extends { x: number; value: number }>(points: readonly P[], max: number): P[] {
  if (points.length <= max || max < 3) return [...points];
  const out: P[] = [points[0]!];
  const every = (points.length - 2) / (max - 2);
  let a = 0;
  for (let i = 0; i < max - 2; i++) {
    const start = Math.floor(i * every) + 1;
    const end = Math.min(Math.floor((i + 1) * every) + 1, points.length - 1);
    const nextStart = end;
    const nextEnd = Math.min(Math.floor((i + 2) * every) + 1, points.length);
    let avgX = 0;
    let avgY = 0;
    const n = Math.max(1, nextEnd - nextStart);
    for (let j = nextStart; j < nextEnd; j++) {
      avgX += points[j]!.x;
      avgY += points[j]!.value;
    }
    avgX /= n;
    avgY /= n;
    const pa = points[a]!;
    let best = start;
    let bestArea = -1;
    for (let j = start; j < end; j++) {
      const p = points[j]!;
      const area = Math.abs((pa.x - avgX) * (p.value - pa.value) - (pa.x - p.x) * (avgY - pa.value));
      if (area > bestArea) {
        bestArea = area;
        best = j;
      }
    }
    out.push(points[best]!);
    a = best;
  }
  out.push(points.at(-1)!);
  return out;
}

/** Average accuracy and backward transfer (Lopez-Paz & Ranzato 2017) of a square, complete matrix. */
export function continualSummary(
  matrix: NonNullable<ReportHistory['accuracyMatrix']>,
): { average: number; bwt: number | undefined } | undefined {
  const T = matrix.tasks.length;
  if (matrix.rows.length !== T) return undefined;
  const R = (i: number, j: number) => matrix.rows[i]!.values[j];
  const last = matrix.rows[T - 1]!.values;
  if (last.some((v) => v === null)) return undefined;
  const average = (last as number[]).reduce((a, b) => a + b, 0) / T;
  if (T < 2) return { average, bwt: undefined };
  let sum = 0;
  for (let j = 0; j < T - 1; j++) {
    const diag = R(j, j);
    if (diag === null || diag === undefined) return { average, bwt: undefined };
    sum += (last[j] as number) - diag;
  }
  return { average, bwt: sum / (T - 1) };
}
