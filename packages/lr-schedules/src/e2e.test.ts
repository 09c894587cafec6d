// End to end on real MNIST digits (the `mnist` package), cpu backend, small MLP: one-cycle against a
// constant lr at the same epochs, and the LR finder's suggestion against training at that lr.
import * as tf from '@tensorflow/tfjs';
import { type Plugin, sgd, Trainer } from '@tensorloop/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findLr } from './lr-finder.js';
import { oneCycle } from './one-cycle.js';
import { mnistTensors } from './test-helpers.js';

let train: { x: tf.Tensor2D; y: tf.Tensor2D };
let test_: { x: tf.Tensor2D; y: tf.Tensor2D };
beforeAll(async () => {
  await tf.setBackend('cpu');
  tf.enableProdMode();
  train = mnistTensors(50); // 500 digits
  test_ = mnistTensors(50, 600); // 500 other digits
});
afterAll(() => tf.dispose([train.x, train.y, test_.x, test_.y]));

function mlp(seed: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'hidden',
        inputShape: [784],
        units: 64,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed }),
      }),
      tf.layers.dense({
        name: 'out',
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 100 }),
      }),
    ],
  });
}

const EPOCHS = 4;
const MAX_LR = 0.3;

const newTrainer = (seed: number, lr: number, plugins: Plugin[] = []) =>
  new Trainer({
    model: mlp(seed),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: sgd({ lr, momentum: 0.9 }),
    plugins,
    seed,
    log: 'silent',
  });

async function trainAndTest(seed: number, plugins: Plugin[]): Promise<{ accuracy: number; loss: number }> {
  const trainer = newTrainer(seed, MAX_LR, plugins);
  await trainer.fit(train, { epochs: EPOCHS, batchSize: 32 });
  const logs = await trainer.evaluate(test_);
  trainer.model.dispose();
  return { accuracy: logs.accuracy!, loss: logs.loss! };
}

describe('end to end on MNIST', () => {
  test('one-cycle beats a constant lr (its peak) at the same epochs, on average over seeds', async () => {
    const seeds = [1, 2];
    const constant: { accuracy: number; loss: number }[] = [];
    const cycled: { accuracy: number; loss: number }[] = [];
    for (const seed of seeds) {
      constant.push(await trainAndTest(seed, []));
      cycled.push(await trainAndTest(seed, [oneCycle({ maxLr: MAX_LR })]));
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const fmt = (v: { accuracy: number; loss: number }[]) =>
      v.map((r) => `acc ${r.accuracy.toFixed(3)} loss ${r.loss.toFixed(3)}`).join(', ');
    console.log(`constant lr: ${fmt(constant)} | one-cycle: ${fmt(cycled)}`);
    // Measured (cpu): constant ≈ 0.66–0.70 accuracy, one-cycle ≈ 0.80–0.84.
    expect(mean(cycled.map((r) => r.accuracy))).toBeGreaterThan(mean(constant.map((r) => r.accuracy)) + 0.05);
    expect(mean(cycled.map((r) => r.loss))).toBeLessThan(mean(constant.map((r) => r.loss)) * 0.75);
  });

  test("the finder's suggestion trains stably; 10× the divergence point does not", async () => {
    const probe = newTrainer(7, 0.01);
    const result = await findLr(probe, train, { batchSize: 32, steps: 200 });
    const suggested = result.suggestions!.valley.lr;
    const diverged = result.curve.at(-1)!.lr;
    console.log(
      `lr finder: stopped by ${result.stoppedBy} at lr ${diverged.toExponential(2)} after ${result.curve.length} steps; ` +
        `valley ${suggested.toExponential(2)}, steepest ${result.suggestions!.steepest.lr.toExponential(2)}, minimum/10 ${result.suggestions!.minimum.lr.toExponential(2)}`,
    );
    expect(result.stoppedBy).toBe('diverged');
    expect(suggested).toBeLessThan(diverged);
    const oneEpochAt = async (lr: number) => {
      const trainer = newTrainer(7, lr);
      const before = (await trainer.evaluate(train)).loss!;
      const { history } = await trainer.fit(train, { epochs: 1, batchSize: 32 });
      const after = (await trainer.evaluate(train)).loss!;
      trainer.model.dispose();
      return { before, after, trainLoss: history[0]!.logs.loss! };
    };
    const good = await oneEpochAt(suggested);
    const bad = await oneEpochAt(diverged * 10);
    console.log(
      `one epoch at the suggestion: loss ${good.before.toFixed(3)} → ${good.after.toFixed(3)}; at 10× divergence: ${bad.before.toFixed(3)} → ${bad.after.toFixed(3)}`,
    );
    expect(good.after).toBeLessThan(good.before * 0.9);
    expect(!(bad.after < bad.before)).toBe(true); // NaN or no better
    probe.model.dispose();
  });
});
