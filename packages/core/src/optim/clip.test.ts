import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { clipGradientsByGlobalNorm, clipGradientsByValue } from './clip.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const grads = () =>
  new Map<string, tf.Tensor>([
    ['a', tf.tensor([3, 0, -1])],
    [
      'b',
      tf.tensor([
        [1, -2],
        [0, 0.5],
      ]),
    ],
  ]);
// ‖g‖ = √(9 + 1 + 1 + 4 + 0.25) = √15.25
const NORM = Math.sqrt(15.25);

describe('clipGradientsByGlobalNorm (torch clip_grad_norm_)', () => {
  it('scales every gradient by maxNorm / (norm + 1e-6) when the norm is larger, and returns the norm', () => {
    tf.tidy(() => {
      const { grads: clipped, norm } = clipGradientsByGlobalNorm(grads(), 1);
      expect(norm.dataSync()[0]).toBeCloseTo(NORM, 5);
      const scale = 1 / (NORM + 1e-6);
      Array.from(clipped.get('a')!.dataSync()).forEach((x, i) => {
        expect(x).toBeCloseTo([3, 0, -1][i]! * scale, 6);
      });
      Array.from(clipped.get('b')!.dataSync()).forEach((x, i) => {
        expect(x).toBeCloseTo([1, -2, 0, 0.5][i]! * scale, 6);
      });
      expect(clipped.get('b')!.shape).toEqual([2, 2]);
      const after = Math.sqrt(
        [...clipped.values()].reduce((s, t) => s + tf.sum(tf.square(t)).dataSync()[0]!, 0),
      );
      expect(after).toBeCloseTo(1, 5);
    });
  });

  it('leaves gradients unchanged (scale clamped to 1) when the norm is below maxNorm', () => {
    tf.tidy(() => {
      const { grads: clipped, norm } = clipGradientsByGlobalNorm(grads(), 10);
      expect(norm.dataSync()[0]).toBeCloseTo(NORM, 5);
      expect(Array.from(clipped.get('a')!.dataSync())).toEqual([3, 0, -1]);
    });
  });

  it('creates tensors only in the caller tidy (no leak) and rejects maxNorm <= 0', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      clipGradientsByGlobalNorm(grads(), 1);
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(() => clipGradientsByGlobalNorm(new Map(), 0)).toThrow(/TL_OPTION_INVALID/);
    tf.tidy(() => {
      expect(clipGradientsByGlobalNorm(new Map(), 1).norm.dataSync()[0]).toBe(0);
    });
  });
});

describe('clipGradientsByValue (torch clip_grad_value_)', () => {
  it('clamps each element to [-clipValue, clipValue]', () => {
    tf.tidy(() => {
      const clipped = clipGradientsByValue(grads(), 1.5);
      expect(Array.from(clipped.get('a')!.dataSync())).toEqual([1.5, 0, -1]);
      expect(Array.from(clipped.get('b')!.dataSync())).toEqual([1, -1.5, 0, 0.5]);
    });
    expect(() => clipGradientsByValue(new Map(), -1)).toThrow(/TL_OPTION_INVALID/);
  });
});
