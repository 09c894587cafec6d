// Continual-learning evaluation on a real run: the matrix, the published metrics, the events, errors.
import * as tf from '@tensorflow/tfjs';
import { definePlugin, isTensorloopError, Trainer } from '@tensorloop/core';
import { beforeAll, describe, expect, test } from 'vitest';
import { MetaTrainer } from './meta-trainer.js';
import { tasks, tinyModel, tinyTrainer } from './test-helpers.js';
import type { EvalEndEvent } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('evaluation', () => {
  test('every stream after each stage and at init; the matrix equals trainer.evaluate; metrics use Avalanche names', async () => {
    const [a, b, c] = tasks(3, 24);
    const ends: EvalEndEvent[] = [];
    const trainer = tinyTrainer({
      plugins: [definePlugin({ name: 'watch', 'meta:evalEnd': (_ctx, e) => void ends.push(e) })],
    });
    const meta = new MetaTrainer(trainer, {
      evaluate: {
        // Two streams; the second with a dataset-like experience of known size.
        streams: { test: [a!, b!, c!], train: [a!, { data: b!, samples: 24 }, c!] },
        at: 'init-and-each-stage',
        batchSize: 7,
      },
    });
    const out = await meta.run([
      { name: 'A', data: a!, epochs: 2, batchSize: 8 },
      { name: 'B', data: b!, epochs: 2, batchSize: 8 },
      { name: 'C', data: c!, epochs: 2, batchSize: 8 },
    ]);
    const [test0, train0] = out.results.matrices;
    expect(test0!.stream).toBe('test');
    expect(train0!.stream).toBe('train');
    expect(test0!.rows.map((r) => [r.stage, r.name, r.step, r.epoch])).toEqual([
      [0, 'A', 6, 2],
      [1, 'B', 12, 4],
      [2, 'C', 18, 6],
    ]);
    expect(test0!.samples).toEqual([24, 24, 24]);
    expect(test0!.initialStep).toBe(0);
    // The last row is what trainer.evaluate says now (float32 sums: batches of 7 there, 32 here).
    const now = [await trainer.evaluate(a!), await trainer.evaluate(b!), await trainer.evaluate(c!)];
    now.forEach((logs, j) => {
      expect(test0!.accuracy[2]![j]).toBeCloseTo(logs.accuracy!, 6);
      expect(test0!.loss[2]![j]).toBeCloseTo(logs.loss!, 5);
    });
    expect(train0!.accuracy).toEqual(test0!.accuracy); // same data in both streams
    // One meta:evalEnd per evaluation, carrying what it published and the matrices so far.
    expect(ends.map((e) => [e.stage, e.name, e.matrices[0]!.rows.length])).toEqual([
      [-1, 'init', 0],
      [0, 'A', 1],
      [1, 'B', 2],
      [2, 'C', 3],
    ]);
    expect(ends[3]!.metrics['Top1_Acc_Exp/eval_phase/test_stream/Exp001']).toBe(test0!.accuracy[2]![1]);
    expect(
      Object.keys(ends[3]!.metrics)
        .filter((k) => k.includes('test_stream'))
        .sort(),
    ).toEqual(
      [
        'Accuracy_On_Trained_Experiences/eval_phase/test_stream',
        'ExperienceBWT/eval_phase/test_stream/Exp000',
        'ExperienceBWT/eval_phase/test_stream/Exp001',
        'ExperienceForgetting/eval_phase/test_stream/Exp000',
        'ExperienceForgetting/eval_phase/test_stream/Exp001',
        'Loss_Exp/eval_phase/test_stream/Exp000',
        'Loss_Exp/eval_phase/test_stream/Exp001',
        'Loss_Exp/eval_phase/test_stream/Exp002',
        'Loss_Stream/eval_phase/test_stream',
        'StreamBWT/eval_phase/test_stream',
        'StreamForgetting/eval_phase/test_stream',
        'StreamForwardTransfer/eval_phase/test_stream',
        'Top1_Acc_Exp/eval_phase/test_stream/Exp000',
        'Top1_Acc_Exp/eval_phase/test_stream/Exp001',
        'Top1_Acc_Exp/eval_phase/test_stream/Exp002',
        'Top1_Acc_Stream/eval_phase/test_stream',
      ].sort(),
    );
    const R = test0!.accuracy;
    expect(out.results.metrics['ExperienceForgetting/eval_phase/test_stream/Exp000']).toBeCloseTo(
      R[0]![0]! - R[2]![0]!,
      12,
    );
    expect(out.results.metrics['ExperienceForwardTransfer/eval_phase/test_stream/Exp002']).toBeCloseTo(
      R[1]![2]! - test0!.initial![2]!,
      12,
    );
    expect(out.results.summary.map((s) => s.stream)).toEqual(['test', 'train']);
    expect(meta.results()).toEqual(out.results);
  });

  test("the imperative API evaluates at each tick; at 'init-and-each-stage' once before the first stage", async () => {
    const [a, b] = tasks(2);
    const meta = new MetaTrainer(tinyTrainer(), {
      evaluate: { streams: { test: [a!, b!] }, at: 'init-and-each-stage' },
    });
    await meta.fit(a!, { epochs: 1, name: 'first' });
    await meta.fit(a!, { epochs: 1 });
    await meta.tick();
    await meta.fit(b!, { epochs: 1, name: 'second' });
    await meta.tick();
    const m = meta.results().matrices[0]!;
    expect(m.initial).toHaveLength(2);
    expect(m.rows.map((r) => r.name)).toEqual(['first', 'second']);
  });

  test('clear errors: no accuracy metric, an experience of unknown size', async () => {
    const [a] = tasks(1);
    const noMetrics = new Trainer({
      model: tinyModel(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      log: 'silent',
    });
    const error = await new MetaTrainer(noMetrics, { evaluate: { streams: { test: [a!] } } })
      .run([{ data: a!, epochs: 1 }])
      .catch((e: unknown) => e);
    expect(isTensorloopError(error, 'TL_METRIC_UNKNOWN')).toBe(true);
    expect((error as Error).message).toContain('gave no "accuracy" (logs: loss)');
    const dataset = tf.data.array([{ xs: a!.x, ys: a!.y }]);
    expect(
      () => new MetaTrainer(tinyTrainer(), { evaluate: { streams: { test: [dataset as never] } } }),
    ).toThrow(/streams\.test\[0\] must be \{ x, y \} tensors .* or \{ data, samples \}/);
  });
});
