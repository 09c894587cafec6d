// Continual-learning metrics from an accuracy matrix, with Avalanche's definitions and emission rules
// (avalanche/evaluation/metrics/{accuracy,forgetting_bwt,forward_transfer}.py). Pure functions.
import { metricName } from './names.js';
import type { AccuracyMatrix, StreamSummary } from './types.js';

/** −0 reads as 0 in tables and JSON alike. */
const clean = (x: number): number => (x === 0 ? 0 : x);

/** Avalanche's `Mean` with weight 1 per value: 0 when empty. */
const mean = (values: readonly number[]): number =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;

/** Σ n_j·v_j / Σ n_j over the experiences `j` kept by `keep`. */
function weighted(
  values: readonly number[],
  samples: readonly number[],
  keep = (_j: number) => true,
): number {
  let sum = 0;
  let total = 0;
  values.forEach((v, j) => {
    if (!keep(j)) return;
    sum += samples[j]! * v;
    total += samples[j]!;
  });
  return total === 0 ? 0 : sum / total;
}

/** R[i]: the accuracy row evaluated after stage `i`, if there is one. */
function rowAfter(m: AccuracyMatrix, stage: number): readonly number[] | undefined {
  const i = m.rows.findIndex((r) => r.stage === stage);
  return i < 0 ? undefined : m.accuracy[i];
}

function lossAfter(m: AccuracyMatrix, stage: number): readonly number[] | undefined {
  const i = m.rows.findIndex((r) => r.stage === stage);
  return i < 0 ? undefined : m.loss[i];
}

/** F_k = R[k][k] − R[t][k] for every k < t with both values (ExperienceForgetting). */
function forgettingAt(m: AccuracyMatrix, t: number): Map<number, number> {
  const now = rowAfter(m, t);
  const out = new Map<number, number>();
  if (!now) return out;
  for (let k = 0; k < Math.min(t, m.experiences.length); k++) {
    const justAfter = rowAfter(m, k)?.[k];
    if (justAfter !== undefined) out.set(k, justAfter - now[k]!);
  }
  return out;
}

/** FWT_k = R[k−1][k] − b[k] for every k ≤ t + 1 with both values (ExperienceForwardTransfer). */
function forwardTransferUpTo(m: AccuracyMatrix, t: number): Map<number, number> {
  const out = new Map<number, number>();
  if (!m.initial) return out;
  for (let k = 1; k <= Math.min(t + 1, m.experiences.length - 1); k++) {
    const before = rowAfter(m, k - 1)?.[k];
    if (before !== undefined) out.set(k, before - m.initial[k]!);
  }
  return out;
}

/**
 * The values the evaluation after stage `t` publishes (`t = −1`: the initial evaluation), under
 * Avalanche's names and rules:
 * - `Top1_Acc_Exp` / `Loss_Exp` per experience; `Top1_Acc_Stream` / `Loss_Stream` weighted by samples;
 * - `Accuracy_On_Trained_Experiences`: sample-weighted over experiences `j ≤ t` (not at init);
 * - `ExperienceForgetting` `R[k][k] − R[t][k]` and `ExperienceBWT` (its negative) for `k < t`;
 *   `StreamForgetting` / `StreamBWT` their means, 0 when there is none;
 * - with an initial evaluation only: `ExperienceForwardTransfer` `R[t][t+1] − b[t+1]` (for the next
 *   experience, once), and `StreamForwardTransfer`, the mean of `R[k−1][k] − b[k]` over `1 ≤ k ≤ t+1`
 *   (0 when there is none).
 */
export function publishedAt(m: AccuracyMatrix, t: number): Record<string, number> {
  const acc = t < 0 ? m.initial : rowAfter(m, t);
  const loss = t < 0 ? m.initialLoss : lossAfter(m, t);
  if (!acc || !loss) return {};
  const s = m.stream;
  const out: Record<string, number> = {};
  acc.forEach((v, j) => {
    out[metricName('Top1_Acc_Exp', s, j)] = v;
    out[metricName('Loss_Exp', s, j)] = loss[j]!;
  });
  out[metricName('Top1_Acc_Stream', s)] = weighted(acc, m.samples);
  out[metricName('Loss_Stream', s)] = weighted(loss, m.samples);
  if (t >= 0) {
    out[metricName('Accuracy_On_Trained_Experiences', s)] = weighted(acc, m.samples, (j) => j <= t);
  }
  const forgetting = forgettingAt(m, t);
  for (const [k, f] of forgetting) {
    out[metricName('ExperienceForgetting', s, k)] = clean(f);
    out[metricName('ExperienceBWT', s, k)] = clean(-f);
  }
  out[metricName('StreamForgetting', s)] = clean(mean([...forgetting.values()]));
  out[metricName('StreamBWT', s)] = clean(-mean([...forgetting.values()]));
  if (m.initial) {
    const fwt = forwardTransferUpTo(m, t);
    const next = fwt.get(t + 1);
    if (t >= 0 && next !== undefined) out[metricName('ExperienceForwardTransfer', s, t + 1)] = clean(next);
    out[metricName('StreamForwardTransfer', s)] = clean(mean([...fwt.values()]));
  }
  return out;
}

/** The stream's figures after its latest evaluation. */
export function summarize(m: AccuracyMatrix): StreamSummary {
  const last = m.rows.at(-1);
  const t = last ? last.stage : -1;
  const acc = (t < 0 ? m.initial : rowAfter(m, t)) ?? [];
  const forgetting = clean(mean([...forgettingAt(m, t).values()]));
  return {
    stream: m.stream,
    stage: t,
    averageAccuracy: mean(acc),
    streamAccuracy: weighted(acc, m.samples),
    forgetting,
    bwt: clean(-forgetting),
    fwt: m.initial ? clean(mean([...forwardTransferUpTo(m, t).values()])) : undefined,
  };
}
