import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { RELU_GRAD } from './relu-gradient.js';
import { onBackend, randomValues, sizeOf } from './test-helpers.js';

/**
 * The relu gradient on wasm (one compiled pass) against cpu's (Step then Multiply), exactly:
 * signs, zeros, NaN and infinities in x and dy, lengths that are not a multiple of 4.
 */
function inputs(size: number) {
  const x = randomValues(size, 5);
  const dy = randomValues(size, 6);
  const specials = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-45, -1e-45];
  for (let i = 0; i < Math.min(size, specials.length); i++) x[i] = specials[i]!;
  if (size > 9) {
    dy[8] = Number.POSITIVE_INFINITY; // times step 0 is NaN, as on cpu
    dy[9] = Number.NaN;
  }
  return { x, dy };
}

async function reluGradientOn(backend: 'cpu' | 'wasm', shape: number[], order: 1 | 2) {
  return onBackend(backend, async () => {
    const { x, dy } = inputs(sizeOf(shape));
    const tx = tf.tensor(x, shape);
    const tdy = tf.tensor(dy, shape);
    const before = tf.memory().numTensors;
    const g =
      order === 1
        ? tf.grad((t: tf.Tensor) => tf.relu(t))(tx, tdy)
        : // d/dx of Σ dy·relu'(x)·x: exercises the gradient of the gradient.
          tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.grad((u: tf.Tensor) => tf.relu(u))(t, tdy), t)))(tx);
    const values = await g.data();
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([tx, tdy]);
    return values;
  });
}

describe('relu gradient on wasm equals cpu', () => {
  it.each([[[4, 26, 26, 16]], [[128, 256]], [[7]], [[3, 5]], [[0, 4]]])('shape %j', async (shape) => {
    const cpu = await reluGradientOn('cpu', shape, 1);
    const wasm = await reluGradientOn('wasm', shape, 1);
    expect(Array.from(wasm)).toEqual(Array.from(cpu));
  });

  it('second derivative through the fused kernel', async () => {
    const cpu = await reluGradientOn('cpu', [5, 6], 2);
    const wasm = await reluGradientOn('wasm', [5, 6], 2);
    expect(Array.from(wasm)).toEqual(Array.from(cpu));
  });

  it('runs the fused kernel on wasm (one kernel, no Step/Multiply)', async () => {
    await onBackend('wasm', async () => {
      const x = tf.tensor([-1, 2, 0, 3], [4]);
      const dy = tf.tensor([5, 6, 7, 8], [4]);
      const profile = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.relu(t))(x, dy));
      const names = profile.kernels.map((k) => k.name);
      expect(names).toContain(RELU_GRAD);
      expect(names).not.toContain('Step');
      tf.dispose([x, dy, profile.result as tf.Tensor]);
    });
  });

  it('int32 relu keeps tfjs-core gradient', async () => {
    const values = await onBackend('wasm', async () => {
      const x = tf.tensor([-2, 3, 0], [3], 'int32');
      const g = tf.grad((t: tf.Tensor) => tf.relu(t))(x, tf.ones([3]));
      const v = await g.data();
      tf.dispose([x, g]);
      return v;
    });
    expect(Array.from(values)).toEqual([0, 1, 0]);
  });
});
