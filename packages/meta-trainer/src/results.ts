import { publishedAt, summarize } from './metrics.js';
import { experienceLabel } from './names.js';
import type { EvaluationRecord, StreamLayout } from './state.js';
import type { AccuracyMatrix, MetaResults, MetricPoint } from './types.js';

/** Every stream's accuracy matrix from the evaluations so far. */
export function buildMatrices(
  layout: StreamLayout,
  evaluations: readonly EvaluationRecord[],
): AccuracyMatrix[] {
  return layout.map((stream, k) => {
    const initial = evaluations.find((e) => e.stage < 0);
    const rows = evaluations.filter((e) => e.stage >= 0);
    return {
      stream: stream.name,
      experiences: stream.samples.map((_n, j) => experienceLabel(j)),
      samples: [...stream.samples],
      rows: rows.map((e) => ({ stage: e.stage, name: e.name, step: e.step, epoch: e.epoch })),
      accuracy: rows.map((e) => [...e.streams[k]!.accuracy]),
      loss: rows.map((e) => [...e.streams[k]!.loss]),
      initial: initial ? [...initial.streams[k]!.accuracy] : undefined,
      initialLoss: initial ? [...initial.streams[k]!.loss] : undefined,
      initialStep: initial?.step,
    };
  });
}

/** The values one evaluation published (every stream), by Avalanche name. */
export function publishedBy(matrices: readonly AccuracyMatrix[], stage: number): Record<string, number> {
  return Object.assign({}, ...matrices.map((m) => publishedAt(m, stage))) as Record<string, number>;
}

/** Matrices, latest metric values, the whole series and a summary per stream. */
export function buildResults(layout: StreamLayout, evaluations: readonly EvaluationRecord[]): MetaResults {
  const series: MetricPoint[] = [];
  const metrics: Record<string, number> = {};
  // Each evaluation publishes what it would have published then: rebuild the matrices up to it.
  evaluations.forEach((e, i) => {
    const soFar = buildMatrices(layout, evaluations.slice(0, i + 1));
    for (const [name, value] of Object.entries(publishedBy(soFar, e.stage))) {
      series.push({ name, value, step: e.step, stage: e.stage });
      metrics[name] = value;
    }
  });
  const matrices = buildMatrices(layout, evaluations);
  return { matrices, metrics, series, summary: matrices.map(summarize) };
}

const csvCell = (v: string | number | undefined): string => {
  if (v === undefined) return '';
  const text = String(v);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/**
 * The accuracy matrices in long format, one line per (evaluation, experience), with the columns of
 * Avalanche's `eval_results.csv` plus stream, stage name, samples and step:
 * `stream,eval_exp,training_exp,training_stage,eval_accuracy,eval_loss,forgetting,samples,step`.
 * `training_exp` is −1 for the evaluation before any training; `forgetting` is empty where it is
 * not defined (the experience just trained, or not trained yet).
 */
export function resultsToCsv(results: MetaResults): string {
  const lines = [
    'stream,eval_exp,training_exp,training_stage,eval_accuracy,eval_loss,forgetting,samples,step',
  ];
  for (const m of results.matrices) {
    const rows = [
      ...(m.initial
        ? [{ stage: -1, name: 'init', step: m.initialStep!, acc: m.initial, loss: m.initialLoss! }]
        : []),
      ...m.rows.map((r, i) => ({
        stage: r.stage,
        name: r.name,
        step: r.step,
        acc: m.accuracy[i]!,
        loss: m.loss[i]!,
      })),
    ];
    for (const row of rows) {
      row.acc.forEach((acc, j) => {
        const justAfter = m.rows.findIndex((r) => r.stage === j);
        const forgetting = j < row.stage && justAfter >= 0 ? m.accuracy[justAfter]![j]! - acc : undefined;
        lines.push(
          [m.stream, j, row.stage, row.name, acc, row.loss[j], forgetting, m.samples[j], row.step]
            .map(csvCell)
            .join(','),
        );
      });
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The results as JSON text (NaN and ±Infinity become null, as JSON has no such numbers). */
export function resultsToJson(results: MetaResults): string {
  return `${JSON.stringify(results, null, 2)}\n`;
}

const pct = (v: number | undefined): string =>
  v === undefined || Number.isNaN(v) ? '   -  ' : `${(v * 100).toFixed(1).padStart(5)}%`;
const signed = (v: number | undefined): string =>
  v === undefined ? '-' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;

/**
 * A plain-text table per stream: the accuracy matrix (rows: after which stage; columns:
 * experiences), the forgetting of each experience at the end, and the summary figures.
 */
export function formatResults(results: MetaResults): string {
  const out: string[] = [];
  results.matrices.forEach((m, k) => {
    const labels = ['init', ...m.rows.map((r) => r.name)];
    const width = Math.max(12, ...labels.map((l) => l.length + 2));
    const header = `${'after'.padEnd(width)}${m.experiences.map((e) => e.padStart(8)).join('')}`;
    out.push(`${m.stream} stream: accuracy on each experience (columns) after each stage (rows)`, header);
    if (m.initial) out.push(`${'init'.padEnd(width)}${m.initial.map((v) => pct(v).padStart(8)).join('')}`);
    m.rows.forEach((r, i) => {
      out.push(`${r.name.padEnd(width)}${m.accuracy[i]!.map((v) => pct(v).padStart(8)).join('')}`);
    });
    const last = m.rows.at(-1);
    if (last) {
      const forgetting = m.experiences.map((_e, j) => {
        const justAfter = m.rows.findIndex((r) => r.stage === j);
        return j < last.stage && justAfter >= 0
          ? m.accuracy[justAfter]![j]! - m.accuracy.at(-1)![j]!
          : undefined;
      });
      out.push(`${'forgetting'.padEnd(width)}${forgetting.map((v) => pct(v).padStart(8)).join('')}`);
    }
    const s = results.summary[k]!;
    out.push(
      `average accuracy ${pct(s.averageAccuracy).trim()}, stream accuracy ${pct(s.streamAccuracy).trim()}, ` +
        `forgetting ${pct(s.forgetting).trim()}, BWT ${signed(s.bwt)}` +
        (s.fwt === undefined ? '' : `, FWT ${signed(s.fwt)}`),
      '',
    );
  });
  return out.join('\n');
}
