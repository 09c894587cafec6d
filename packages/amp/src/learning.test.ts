import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { type Plugin, Trainer } from '@tensorloop/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { amp } from './index.js';
import { accuracy, mnistTensors, weightsOf } from './test-helpers.js';

// The acceptance test of issue 13: a model whose gradients underflow in (emulated) float16 does not
// learn without loss scaling and learns with dynamic scaling, on real MNIST digits.
//
// The model's loss carries a weight of 1e-7 (a small auxiliary loss, or a sum turned into a mean over
// a large count, makes such gradients), compensated by the learning rate: in float32 it trains like
// plain SGD at lr 0.5. The gradient reaching the output layer is then about 1e-7 · (p − y) / 32 ≈ 3e-9,
// below half of float16's smallest subnormal (2⁻²⁵ ≈ 3e-8): in float16 every gradient is zero.
const WEIGHT = 1e-7;
const LR = 0.5 / WEIGHT;

let train: { x: tf.Tensor2D; y: tf.Tensor2D };
let test_: { x: tf.Tensor2D; y: tf.Tensor2D };

beforeAll(async () => {
  // wasm, the fast backend of Node (the emulation is exact there too: see rounding.test.ts).
  await tf.setBackend('wasm');
  train = mnistTensors(60); // 600 digits
  test_ = mnistTensors(30, 600); // 300 other digits
});

afterAll(async () => {
  tf.dispose([train.x, train.y, test_.x, test_.y]);
  await tf.setBackend('cpu');
});

function model() {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'hidden',
        inputShape: [784],
        units: 64,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 11 }),
      }),
      tf.layers.dense({
        name: 'out',
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 12 }),
      }),
    ],
  });
}

async function run(plugins: Plugin[]) {
  const m = model();
  const before = weightsOf(m);
  const trainer = new Trainer({
    model: m,
    loss: (y, p) => tf.mul(tf.mean(tf.metrics.categoricalCrossentropy(y, p)), WEIGHT),
    optimizer: tf.train.sgd(LR),
    plugins,
    seed: 3,
    log: 'silent',
  });
  const { history } = await trainer.fit(train, { epochs: 3, batchSize: 32 });
  const moved = weightsOf(m).some((w, i) => w.some((v, j) => v !== before[i]![j]));
  return { accuracy: accuracy(m, test_.x, test_.y), moved, logs: history.at(-1)!.logs };
}

describe('loss scaling rescues gradients that underflow in float16 (real MNIST digits)', () => {
  test('float32 learns; float16 without scaling does not move a weight; float16 with dynamic scaling learns', async () => {
    const float32 = await run([]);
    const unscaled = await run([amp({ precision: 'float16', lossScale: 1 })]);
    const scaled = await run([amp({ precision: 'float16' })]);
    expect(float32.accuracy).toBeGreaterThan(0.8);
    // Every gradient flushed to zero: the weights keep their initial bits, accuracy stays at chance.
    expect(unscaled.moved).toBe(false);
    expect(unscaled.accuracy).toBeLessThan(0.25);
    // Scaled by 2^15 the same gradients are representable: it learns as float32 does.
    expect(scaled.accuracy).toBeGreaterThan(0.8);
    expect(Math.abs(scaled.accuracy - float32.accuracy)).toBeLessThan(0.05);
    expect(scaled.logs).toMatchObject({ loss_scale: 2 ** 15, skipped_steps: 0 });
  });
});
