import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, test } from 'vitest';
import { definePlugin, type Plugin } from './plugin.js';
import { classificationData, tinyClassifier } from './test-helpers.js';
import { Trainer } from './trainer.js';

afterAll(async () => {
  await tf.setBackend('cpu');
});

/** Several plugins that touch every stage of the step and read values on the host. */
function busyPlugins(counts: number[]): Plugin[] {
  return [
    definePlugin({ name: 'batch-reader', needsBatchLogs: true, onBatchEnd: (_c, e) => void e.logs?.loss }),
    definePlugin({
      name: 'noise',
      transformBatch: (_c, b) => ({ x: tf.add(b.x as tf.Tensor, 0.01), y: b.y }),
    }),
    definePlugin({ name: 'scale', transformLoss: (_c, loss) => tf.mul(loss, 2) }),
    definePlugin({
      name: 'clip',
      transformGradients: (_c, grads) => new Map([...grads].map(([k, g]) => [k, tf.clipByValue(g, -1, 1)])),
    }),
    definePlugin({
      name: 'after',
      afterOptimizerStep: (_c, e) => void tf.addN([...e.grads.values()].map((g) => tf.sum(g))),
    }),
    definePlugin({ name: 'probe', onEpochEnd: () => void counts.push(tf.memory().numTensors) }),
  ];
}

describe.each(['cpu', 'wasm'])('memory on %s', (backend) => {
  test('numTensors is identical after epoch 2 and epoch 5, with several plugins active', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const counts: number[] = [];
    const data = classificationData(50);
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: tf.train.adam(0.01),
      plugins: busyPlugins(counts),
      log: 'silent',
    });
    const before = tf.memory().numTensors;
    await trainer.fit(data, { epochs: 5, batchSize: 8, validationData: data });
    expect(counts).toHaveLength(5);
    expect(counts[1]).toBe(counts[4]);
    // After the fit only Adam's slots remain: m and v for each of the 4 weights (its beta
    // accumulators were created with the optimizer, before `before` was read).
    expect(tf.memory().numTensors - before).toBe(4 * 2);
    tf.dispose([data.x, data.y]);
  });
});
