import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { sgd } from '../optim/sgd.js';
import { definePlugin, type GradientMap } from '../plugin.js';
import { classificationData, maxAbsDiff, tinyClassifier, weightsOf } from '../test-helpers.js';
import { Trainer } from '../trainer.js';
import type { GradientRequest, GradientResult } from './gradient-source-api.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * A gradient source that computes the batch as two shards on this thread, each divided by its share
 * of the rows (the `computeLocal(batch, lossDivisor)` seam), and adds them up: what
 * `@tensorloop/data-parallel` does with a worker thread for the second shard.
 */
function twoShards(options: { weighted: boolean }) {
  const calls: number[] = [];
  const source = {
    computeGradients(request: GradientRequest): GradientResult {
      const x = request.batch.x as tf.Tensor;
      const rows = x.shape[0]!;
      const first = Math.ceil(rows / 2);
      const parts = [
        { begin: 0, size: first },
        { begin: first, size: rows - first },
      ].filter((p) => p.size > 0);
      const results = parts.map(({ begin, size }) => {
        calls.push(size);
        const shard = { x: tf.slice(x, begin, size), y: tf.slice(request.batch.y, begin, size) };
        const share = size / rows;
        return options.weighted
          ? request.computeLocal(shard, request.lossDivisor / share)
          : request.computeLocal(shard);
      });
      const grads: GradientMap = new Map();
      for (const name of results[0]!.grads.keys()) {
        grads.set(name, tf.addN(results.map((r) => r.grads.get(name)!)));
      }
      const mix = (pick: (r: GradientResult) => tf.Scalar, weighted: boolean) =>
        tf.addN(
          results.map((r, i) => (weighted ? pick(r) : tf.mul(pick(r), parts[i]!.size / rows))),
        ) as tf.Scalar;
      const values = results[0]!.values.map((_, k) => mix((r) => r.values[k]!, false));
      const loss = mix((r) => r.loss, options.weighted);
      for (const r of results) tf.dispose(r.values);
      return { values, loss, grads };
    },
  };
  return { calls, plugin: definePlugin({ name: 'two-shards', gradientSource: source }) };
}

async function train(plugins: ReturnType<typeof twoShards>['plugin'][], epochs = 2) {
  const trainer = new Trainer({
    model: tinyClassifier(),
    loss: 'categoricalCrossentropy',
    optimizer: sgd({ lr: 0.5 }),
    plugins,
    log: 'silent',
  });
  const { history } = await trainer.fit(classificationData(50), {
    epochs,
    batchSize: 16, // 16, 16, 16, 2: uneven shards in the last batch
    shuffle: false,
  });
  return { weights: weightsOf(trainer.model), loss: history.at(-1)!.logs.loss! };
}

describe('gradient source seam: computeLocal with a loss divisor of its own', () => {
  test('two shards, each divided by its share, add up to the whole batch (weights to 1e-6)', async () => {
    const whole = await train([]);
    const { calls, plugin } = twoShards({ weighted: true });
    const sharded = await train([plugin]);
    expect(calls).toEqual([8, 8, 8, 8, 8, 8, 1, 1, 8, 8, 8, 8, 8, 8, 1, 1]);
    expect(maxAbsDiff(sharded.weights, whole.weights)).toBeLessThan(1e-6);
    expect(Math.abs(sharded.loss - whole.loss)).toBeLessThan(1e-6);
  });

  test('without the divisor each shard counts as a whole batch: the sum is twice the gradient', async () => {
    const whole = await train([], 1);
    const { plugin } = twoShards({ weighted: false });
    const doubled = await train([plugin], 1);
    // The control: the divisor is what makes the shards' sum the batch's mean gradient.
    expect(maxAbsDiff(doubled.weights, whole.weights)).toBeGreaterThan(1e-3);
  });
});
