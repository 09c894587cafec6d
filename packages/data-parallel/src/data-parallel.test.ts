import * as tf from '@tensorflow/tfjs';
import { adam } from '@tensorloop/core';
import { mnistMlp } from '@tensorloop/testkit';
import { beforeAll, describe, expect, test } from 'vitest';
import { dataParallel } from './index.js';
import { cnn, digits, maxDiff, mlp, threadProbe, train, useWasm } from './test-helpers.js';

beforeAll(useWasm);

describe('two threads train exactly like one process on the same global batch', () => {
  test('MLP on MNIST, SGD: same weights and logs to 1e-5 (uneven shards and last batch)', async () => {
    const data = digits();
    // Batch 63: shards of 32 and 31 rows, so the average must be weighted by shard size; the last batch has 48.
    const reference = await train(data, { model: mlp(), batchSize: 63 });
    const probe = threadProbe();
    const parallel = await train(data, {
      model: mlp(),
      batchSize: 63,
      plugins: [dataParallel({ workers: 2 }), probe],
    });
    expect(probe.seen.length).toBe(10); // 300 rows: 5 batches × 2 epochs
    expect(new Set(probe.seen)).toEqual(new Set([2]));
    expect(maxDiff(parallel.weights, reference.weights)).toBeLessThan(1e-5);
    parallel.history.forEach((logs, e) => {
      expect(logs.loss).toBeCloseTo(reference.history[e]!.loss, 5);
      expect(logs.accuracy).toBeCloseTo(reference.history[e]!.accuracy, 5);
    });
    // It did train: the reference moved the weights.
    expect(reference.history[1]!.loss).toBeLessThan(reference.history[0]!.loss);
    tf.dispose([data.x, data.y]);
  });

  test('small CNN on MNIST, SGD: same weights to 1e-5', async () => {
    const data = digits(12);
    const reference = await train(data, { model: cnn(), epochs: 1, batchSize: 32 });
    const probe = threadProbe();
    const parallel = await train(data, {
      model: cnn(),
      epochs: 1,
      batchSize: 32,
      plugins: [dataParallel({ workers: 2 }), probe],
    });
    expect(new Set(probe.seen)).toEqual(new Set([2]));
    expect(maxDiff(parallel.weights, reference.weights)).toBeLessThan(1e-5);
    expect(parallel.history[0]!.loss).toBeCloseTo(reference.history[0]!.loss, 5);
    tf.dispose([data.x, data.y]);
  });

  test('Adam: the same to 1e-4 (its update divides by √v, which magnifies float rounding of tiny gradients)', async () => {
    const data = digits(20);
    const reference = await train(data, { model: mlp(), optimizer: adam({ lr: 1e-3 }) });
    const parallel = await train(data, {
      model: mlp(),
      optimizer: adam({ lr: 1e-3 }),
      plugins: [dataParallel({ workers: 2 })],
    });
    expect(maxDiff(parallel.weights, reference.weights)).toBeLessThan(1e-4);
    expect(parallel.history[1]!.loss).toBeCloseTo(reference.history[1]!.loss, 4);
    tf.dispose([data.x, data.y]);
  });

  test('gradient accumulation: k shards of k batches still give one mean step', async () => {
    const data = digits(16);
    const reference = await train(data, { model: mlp(), accumulateBatches: 2, batchSize: 32 });
    const parallel = await train(data, {
      model: mlp(),
      accumulateBatches: 2,
      batchSize: 32,
      plugins: [dataParallel({ workers: 2 })],
    });
    expect(maxDiff(parallel.weights, reference.weights)).toBeLessThan(1e-5);
    tf.dispose([data.x, data.y]);
  });

  test('frozen layers stay frozen in the workers (and are equal to the reference)', async () => {
    const data = digits(16);
    const run = async (plugins: Parameters<typeof train>[1]['plugins']) => {
      const model = mlp();
      const before = model.getLayer('h1').getWeights()[0]!.dataSync().slice();
      const freezeH1 = {
        name: 'freeze-h1',
        onFitStart: (ctx: { freeze(p: RegExp): string[] }) => void ctx.freeze(/^h1\//),
      };
      const out = await train(data, { model, plugins: [freezeH1, ...(plugins ?? [])] });
      return { out, before, after: model.getLayer('h1').getWeights()[0]!.dataSync() };
    };
    const reference = await run([]);
    const parallel = await run([dataParallel({ workers: 2 })]);
    expect(Array.from(parallel.after)).toEqual(Array.from(parallel.before));
    expect(maxDiff(parallel.out.weights, reference.out.weights)).toBeLessThan(1e-5);
    tf.dispose([data.x, data.y]);
  });
});

describe('what differs from one process, by design', () => {
  test('BatchNorm in training mode normalizes each shard by its own statistics; moving statistics follow the main shard', async () => {
    const data = digits(16);
    const model = mnistMlp({ hidden: 16 });
    const movingBefore = model.getLayer('bn').getWeights()[2]!.dataSync().slice() as Float32Array;
    const run = await train(data, { model, plugins: [dataParallel({ workers: 2 })] });
    const movingAfter = model.getLayer('bn').getWeights()[2]!.dataSync() as Float32Array;
    expect(maxDiff([movingAfter], [movingBefore])).toBeGreaterThan(1e-3);
    expect(run.history[1]!.loss).toBeLessThan(run.history[0]!.loss);
    tf.dispose([data.x, data.y]);
  });

  test('dropout in the workers draws from the trainer seed: two runs are identical', async () => {
    const data = digits(10);
    const withDropout = () => {
      const m = mlp();
      const out = tf.sequential();
      out.add(m.getLayer('h1'));
      out.add(tf.layers.dropout({ name: 'drop', rate: 0.5 }));
      out.add(m.getLayer('h2'));
      out.add(m.getLayer('out'));
      return out;
    };
    const a = await train(data, { model: withDropout(), plugins: [dataParallel({ workers: 2 })] });
    const b = await train(data, { model: withDropout(), plugins: [dataParallel({ workers: 2 })] });
    expect(maxDiff(a.weights, b.weights)).toBe(0);
    tf.dispose([data.x, data.y]);
  });
});
