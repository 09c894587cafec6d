import * as tf from '@tensorflow/tfjs';
import { clipGradientsByGlobalNorm, definePlugin, type Plugin, Trainer } from '@tensorloop/core';
import { beforeAll, describe, expect, test } from 'vitest';
import { amp } from './index.js';
import { mnistMlp, mnistTensors, overflowAt, sameBits, stateOf, watcher } from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const data = mnistTensors(12); // 120 digits: 12 micro-batches of 10, 6 windows of 2
const MAX_NORM = 0.05;

async function train(plugins: Plugin[], epochs = 2) {
  const trainer = new Trainer({
    model: mnistMlp(3),
    loss: 'categoricalCrossentropy',
    optimizer: tf.train.adam(1e-3),
    plugins,
    accumulateBatches: 2,
    gradientClip: { maxNorm: MAX_NORM },
    seed: 4,
    log: 'silent',
  });
  const { history } = await trainer.fit(data, { epochs, batchSize: 10 });
  return { trainer, history, state: await stateOf(trainer) };
}

/** Records the global norm of the gradients the optimizer gets, before core clips them. */
function normProbe(norms: number[]): Plugin {
  return definePlugin({
    name: 'test:norm',
    transformStepGate: (_ctx, gate, { grads }) => {
      const { norm } = clipGradientsByGlobalNorm(new Map(grads), 1e30);
      norms.push(norm.dataSync()[0]!);
      return gate;
    },
  });
}

describe('amp with gradient accumulation and clipping', () => {
  test('unscaled before clipping, every micro-batch unscaled: weights, slots and logged losses equal the run without amp, bit for bit', async () => {
    const norms: number[] = [];
    const plain = await train([normProbe(norms)]);
    // Clipping is really at work: every window's gradient norm is above maxNorm.
    expect(Math.min(...norms)).toBeGreaterThan(MAX_NORM * 4);
    // A power-of-two scale commutes with every rounding of the backward pass, so if amp unscales
    // each micro-batch before the accumulator and the clip, nothing differs at all.
    const scaled = await train([amp({ initialScale: 2 ** 15 })]);
    expect(sameBits(plain.state, scaled.state)).toBe(true);
    // fastai #3048: the logged training loss is the model's loss, not the scaled one.
    expect(scaled.history.map((h) => h.logs.loss)).toEqual(plain.history.map((h) => h.logs.loss));
    expect(scaled.history.map((h) => h.logs.smooth_loss)).toEqual(
      plain.history.map((h) => h.logs.smooth_loss),
    );
    expect(scaled.history.at(-1)!.logs).toMatchObject({ loss_scale: 2 ** 15, skipped_steps: 0 });
  });

  test('the clip sees unscaled gradients (clipping scaled ones would shrink every update by the scale)', async () => {
    const plainNorms: number[] = [];
    const ampNorms: number[] = [];
    await train([normProbe(plainNorms)], 1);
    await train([amp({ initialScale: 2 ** 15 }), normProbe(ampNorms)], 1);
    expect(ampNorms).toEqual(plainNorms);
  });

  test('an overflow in one micro-batch skips its whole window; the next window starts from clean sums', async () => {
    let trainer: Trainer | undefined;
    const watch = watcher(() => trainer!);
    trainer = new Trainer({
      model: mnistMlp(3),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(1e-3),
      plugins: [amp({ initialScale: 2 ** 15 }), overflowAt([2]), watch.plugin], // first micro-batch of window 2
      accumulateBatches: 2,
      gradientClip: { maxNorm: MAX_NORM },
      log: 'silent',
    });
    const { history, time } = await trainer.fit(data, { epochs: 1, batchSize: 10, shuffle: false });
    // Windows [0,1] steps; [2,3] is skipped (its first half overflowed); [4,5] steps with finite sums.
    expect(watch.rows.slice(0, 6).map((r) => r.unchanged)).toEqual([true, false, true, true, true, false]);
    expect(time.step).toBe(5);
    expect(history[0]!.logs).toMatchObject({ loss_scale: 2 ** 14, skipped_steps: 1 });
    expect(Number.isFinite(history[0]!.logs.loss)).toBe(true);
  });
});
