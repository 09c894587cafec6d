// Metric values computed by hand from small accuracy matrices (Avalanche's definitions, research
// B.4), and the unit checks of Avalanche's tests/test_metrics.py.
import { describe, expect, test } from 'vitest';
import { publishedAt, summarize } from './metrics.js';
import { buildResults, formatResults, resultsToCsv, resultsToJson } from './results.js';
import type { EvaluationRecord } from './state.js';
import type { AccuracyMatrix } from './types.js';

/** A matrix from rows R[0..], with b (initial) when given; losses are 1 − accuracy. */
function matrix(rows: number[][], initial?: number[], samples?: number[]): AccuracyMatrix {
  const n = (initial ?? rows[0]!).length;
  return {
    stream: 'test',
    experiences: Array.from({ length: n }, (_v, j) => `Exp${String(j).padStart(3, '0')}`),
    samples: samples ?? Array.from({ length: n }, () => 100),
    rows: rows.map((_r, i) => ({ stage: i, name: `s${i}`, step: 10 * (i + 1), epoch: i + 1 })),
    accuracy: rows,
    loss: rows.map((r) => r.map((a) => 1 - a)),
    initial,
    initialLoss: initial?.map((a) => 1 - a),
    initialStep: initial ? 0 : undefined,
  };
}

// b = [0.1, 0.2, 0.15]; R0 = [0.9, 0.3, 0.25]; R1 = [0.6, 0.8, 0.35]; R2 = [0.5, 0.7, 0.95]; n = [100, 300, 100]
const b = [0.1, 0.2, 0.15];
const R = [
  [0.9, 0.3, 0.25],
  [0.6, 0.8, 0.35],
  [0.5, 0.7, 0.95],
];
const n = [100, 300, 100];
const full = matrix(R, b, n);

describe('metrics against hand-computed values', () => {
  test('after the last stage (t = 2)', () => {
    const m = publishedAt(full, 2);
    expect(m['Top1_Acc_Exp/eval_phase/test_stream/Exp000']).toBe(0.5);
    expect(m['Top1_Acc_Exp/eval_phase/test_stream/Exp002']).toBe(0.95);
    // Sample-weighted: (100·0.5 + 300·0.7 + 100·0.95) / 500 = 355 / 500, not the mean 0.7167.
    expect(m['Top1_Acc_Stream/eval_phase/test_stream']).toBeCloseTo(0.71, 12);
    expect(m['Loss_Stream/eval_phase/test_stream']).toBeCloseTo(0.29, 12);
    expect(m['Accuracy_On_Trained_Experiences/eval_phase/test_stream']).toBeCloseTo(0.71, 12);
    // F_k = R[k][k] − R[2][k]: 0.9 − 0.5 and 0.8 − 0.7; none for the experience just trained.
    expect(m['ExperienceForgetting/eval_phase/test_stream/Exp000']).toBeCloseTo(0.4, 12);
    expect(m['ExperienceForgetting/eval_phase/test_stream/Exp001']).toBeCloseTo(0.1, 12);
    expect(m['ExperienceForgetting/eval_phase/test_stream/Exp002']).toBeUndefined();
    expect(m['StreamForgetting/eval_phase/test_stream']).toBeCloseTo(0.25, 12);
    expect(m['ExperienceBWT/eval_phase/test_stream/Exp000']).toBeCloseTo(-0.4, 12);
    // GEM BWT = ((0.5 − 0.9) + (0.7 − 0.8)) / 2
    expect(m['StreamBWT/eval_phase/test_stream']).toBeCloseTo(-0.25, 12);
    // No experience after the last one: no ExperienceForwardTransfer at this evaluation.
    expect(Object.keys(m).filter((k) => k.startsWith('ExperienceForwardTransfer'))).toEqual([]);
    // GEM FWT = ((R[0][1] − b1) + (R[1][2] − b2)) / 2 = ((0.3 − 0.2) + (0.35 − 0.15)) / 2
    expect(m['StreamForwardTransfer/eval_phase/test_stream']).toBeCloseTo(0.15, 12);
  });

  test('after the middle stage (t = 1) and the first (t = 0)', () => {
    const m1 = publishedAt(full, 1);
    expect(m1['ExperienceForgetting/eval_phase/test_stream/Exp000']).toBeCloseTo(0.3, 12);
    expect(m1['StreamForgetting/eval_phase/test_stream']).toBeCloseTo(0.3, 12);
    // (100·0.6 + 300·0.8) / 400 over the trained experiences 0 and 1 only.
    expect(m1['Accuracy_On_Trained_Experiences/eval_phase/test_stream']).toBeCloseTo(0.75, 12);
    expect(m1['ExperienceForwardTransfer/eval_phase/test_stream/Exp002']).toBeCloseTo(0.2, 12);
    expect(m1['StreamForwardTransfer/eval_phase/test_stream']).toBeCloseTo(0.15, 12);
    const m0 = publishedAt(full, 0);
    expect(m0['StreamForgetting/eval_phase/test_stream']).toBe(0); // empty mean: 0 (Avalanche Mean)
    expect(m0['StreamBWT/eval_phase/test_stream']).toBe(0);
    expect(Object.is(m0['StreamBWT/eval_phase/test_stream'], -0)).toBe(false);
    expect(m0['ExperienceForwardTransfer/eval_phase/test_stream/Exp001']).toBeCloseTo(0.1, 12);
    expect(m0['StreamForwardTransfer/eval_phase/test_stream']).toBeCloseTo(0.1, 12);
    expect(m0['Accuracy_On_Trained_Experiences/eval_phase/test_stream']).toBeCloseTo(0.9, 12);
  });

  test('the initial evaluation publishes accuracy and empty means, no forgetting', () => {
    const init = publishedAt(full, -1);
    expect(init['Top1_Acc_Stream/eval_phase/test_stream']).toBeCloseTo((10 + 60 + 15) / 500, 12);
    expect(init['StreamForgetting/eval_phase/test_stream']).toBe(0);
    expect(init['StreamForwardTransfer/eval_phase/test_stream']).toBe(0);
    expect(init['Accuracy_On_Trained_Experiences/eval_phase/test_stream']).toBeUndefined();
    expect(Object.keys(init).some((k) => k.startsWith('ExperienceForgetting'))).toBe(false);
  });

  test('forgetting is measured from R[k][k] (Avalanche), not from the best earlier value (Chaudhry)', () => {
    // Experience 0: 0.6 right after stage 0, 0.8 after stage 1, 0.5 after stage 2.
    const m = publishedAt(
      matrix([
        [0.6, 0.1],
        [0.8, 0.9],
        [0.5, 0.7],
      ]),
      2,
    );
    expect(m['ExperienceForgetting/eval_phase/test_stream/Exp000']).toBeCloseTo(0.6 - 0.5, 12); // not 0.8 − 0.5
    expect(m['ExperienceForgetting/eval_phase/test_stream/Exp001']).toBeCloseTo(0.9 - 0.7, 12);
    expect(m['StreamForgetting/eval_phase/test_stream']).toBeCloseTo(0.15, 12);
  });

  test('without an initial evaluation there is no forward transfer', () => {
    const m = publishedAt(matrix(R, undefined, n), 2);
    expect(Object.keys(m).some((k) => k.includes('ForwardTransfer'))).toBe(false);
    expect(m['StreamForgetting/eval_phase/test_stream']).toBeCloseTo(0.25, 12);
  });

  test("Avalanche's unit checks: forgetting 0.6, forward transfer −0.6, empty mean 0", () => {
    // Forgetting: update(0, 1, initial=True); update(0, 0.4) → 0.6. As a matrix: R[0][0] = 1, R[1][0] = 0.4.
    const forgetting = publishedAt(
      matrix([
        [1, 0],
        [0.4, 0],
      ]),
      1,
    );
    expect(forgetting['ExperienceForgetting/eval_phase/test_stream/Exp000']).toBeCloseTo(0.6, 12);
    expect(forgetting['StreamForgetting/eval_phase/test_stream']).toBeCloseTo(0.6, 12);
    // ForwardTransfer: initial b[1] = 1, previous R[0][1] = 0.4 → 0.4 − 1.
    const fwt = publishedAt(matrix([[0, 0.4]], [0, 1]), 0);
    expect(fwt['ExperienceForwardTransfer/eval_phase/test_stream/Exp001']).toBeCloseTo(-0.6, 12);
    expect(publishedAt(matrix([[0.5]]), 0)['StreamForgetting/eval_phase/test_stream']).toBe(0);
  });

  test('summary: GEM ACC, stream accuracy, forgetting, BWT, FWT', () => {
    const s = summarize(full);
    expect(s.stage).toBe(2);
    expect(s.averageAccuracy).toBeCloseTo((0.5 + 0.7 + 0.95) / 3, 12);
    expect(s.streamAccuracy).toBeCloseTo(0.71, 12);
    expect(s.forgetting).toBeCloseTo(0.25, 12);
    expect(s.bwt).toBeCloseTo(-0.25, 12);
    expect(s.fwt).toBeCloseTo(0.15, 12);
  });
});

describe('results', () => {
  const evaluations: EvaluationRecord[] = [
    { stage: -1, name: 'init', step: 0, epoch: 0, streams: [{ accuracy: b, loss: b.map((a) => 1 - a) }] },
    ...R.map((row, i) => ({
      stage: i,
      name: `task ${i}`,
      step: 10 * (i + 1),
      epoch: i + 1,
      streams: [{ accuracy: row, loss: row.map((a) => 1 - a) }],
    })),
  ];
  const results = buildResults([{ name: 'test', samples: n }], evaluations);

  test('latest metrics keep values published earlier (forward transfer of each experience)', () => {
    expect(results.metrics['ExperienceForwardTransfer/eval_phase/test_stream/Exp001']).toBeCloseTo(0.1, 12);
    expect(results.metrics['ExperienceForwardTransfer/eval_phase/test_stream/Exp002']).toBeCloseTo(0.2, 12);
    expect(results.metrics['StreamForgetting/eval_phase/test_stream']).toBeCloseTo(0.25, 12);
    const forgetting0 = results.series.filter(
      (p) => p.name === 'ExperienceForgetting/eval_phase/test_stream/Exp000',
    );
    expect(forgetting0.map((p) => [p.stage, p.step, Number(p.value.toFixed(6))])).toEqual([
      [1, 20, 0.3],
      [2, 30, 0.4],
    ]);
    expect(results.matrices[0]!.rows.map((r) => r.name)).toEqual(['task 0', 'task 1', 'task 2']);
  });

  test('CSV in long format, JSON round trip, text table', () => {
    const csv = resultsToCsv(results).trim().split('\n');
    expect(csv[0]).toBe(
      'stream,eval_exp,training_exp,training_stage,eval_accuracy,eval_loss,forgetting,samples,step',
    );
    expect(csv).toHaveLength(1 + 4 * 3);
    expect(csv[1]).toBe('test,0,-1,init,0.1,0.9,,100,0');
    const last = csv.at(-3)!.split(',');
    expect(last.slice(0, 5)).toEqual(['test', '0', '2', 'task 2', '0.5']);
    expect(Number(last[6])).toBeCloseTo(0.4, 12);
    expect(JSON.parse(resultsToJson(results))).toEqual(JSON.parse(JSON.stringify(results)));
    const text = formatResults(results);
    expect(text).toContain(
      'average accuracy 71.7%, stream accuracy 71.0%, forgetting 25.0%, BWT -25.0%, FWT +15.0%',
    );
    expect(text.split('\n')[2]).toMatch(/^init\s+10\.0%\s+20\.0%\s+15\.0%$/);
  });
});
