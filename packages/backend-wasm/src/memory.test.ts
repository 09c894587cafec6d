import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { onBackend, randomValues } from './test-helpers.js';

/**
 * Every patched kernel composes other kernels and frees their intermediates itself; a missed
 * free would grow the wasm heap by a buffer per step. 1,000 Adam steps of a model that uses each
 * patched kernel must leave `tf.memory()` where it was after the first steps.
 */
function buildModel(): tf.LayersModel {
  const image = tf.input({ shape: [8, 8, 1] });
  let a = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(image);
  a = tf.layers.maxPooling2d({ poolSize: 2 }).apply(a);
  a = tf.layers.separableConv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(a);
  a = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same' }).apply(a);
  a = tf.layers.batchNormalization().apply(a);
  a = tf.layers.flatten().apply(a);
  const ids = tf.input({ shape: [4] });
  let b = tf.layers.embedding({ inputDim: 10, outputDim: 3 }).apply(ids);
  b = tf.layers.gru({ units: 4 }).apply(b);
  let c = tf.layers.concatenate().apply([a as tf.SymbolicTensor, b as tf.SymbolicTensor]);
  c = tf.layers.dropout({ rate: 0.2 }).apply(c);
  const out = tf.layers.dense({ units: 3 }).apply(c) as tf.SymbolicTensor;
  return tf.model({ inputs: [image, ids], outputs: out });
}

describe('memory on wasm', () => {
  it('is stable over 1,000 training steps (numBytes, numTensors) and the model learns', async () => {
    await onBackend('wasm', async () => {
      const model = buildModel();
      const optimizer = tf.train.adam(0.01);
      const x = tf.tensor4d(randomValues(8 * 64, 1), [8, 8, 8, 1]);
      const ids = tf.tensor2d(
        Array.from(randomValues(8 * 4, 2), (v) => Math.floor((v + 1) * 5)),
        [8, 4],
      );
      const y = tf.tensor2d(randomValues(8 * 3, 3), [8, 3]);
      const step = () =>
        optimizer.minimize(
          () =>
            tf.losses.meanSquaredError(
              y,
              model.apply([x, ids], { training: true }) as tf.Tensor,
            ) as tf.Scalar,
          true,
        )!;
      const readLoss = async () => {
        const loss = tf.tidy(step);
        const value = (await loss.data())[0]!;
        loss.dispose();
        return value;
      };
      const firstLoss = await readLoss();
      for (let i = 0; i < 9; i++) tf.dispose(tf.tidy(step)); // optimizer slots are created here
      const after10 = tf.memory();
      for (let i = 10; i < 999; i++) tf.dispose(tf.tidy(step));
      const lastLoss = await readLoss();
      const after1000 = tf.memory();
      expect(after1000.numTensors).toBe(after10.numTensors);
      expect(after1000.numBytes).toBe(after10.numBytes);
      expect(tf.engine().backend.numDataIds()).toBe(after10.numDataBuffers);
      expect(lastLoss).toBeLessThan(firstLoss * 0.5);
      tf.dispose([x, ids, y]);
      optimizer.dispose();
      model.dispose();
    });
  });
});
