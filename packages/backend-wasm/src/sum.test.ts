import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { onBackend, randomValues, relativeError, sizeOf } from './test-helpers.js';

/** Sum on wasm (column sums over leading axes; other reductions by tfjs's kernel) against cpu. */

const cases: {
  name: string;
  shape: number[];
  axis: number | number[];
  keepDims?: boolean;
  dtype?: 'int32';
}[] = [
  { name: 'conv bias gradient [n,h,w,c] over [0,1,2]', shape: [8, 26, 26, 16], axis: [0, 1, 2] },
  { name: 'dense bias gradient over axis 0', shape: [128, 10], axis: 0 },
  { name: 'axes given out of order, keepDims', shape: [3, 4, 5], axis: [1, 0], keepDims: true },
  { name: 'width not a multiple of 4', shape: [33, 7], axis: [0] },
  { name: 'one row', shape: [1, 9], axis: 0 },
  { name: 'trailing axes (tfjs kernel)', shape: [4, 5, 6], axis: [1, 2] },
  { name: 'all axes (tfjs kernel)', shape: [6, 7], axis: [0, 1] },
  { name: 'middle axis (tfjs kernel)', shape: [4, 5, 6], axis: 1 },
  { name: 'int32 (tfjs kernel)', shape: [10, 3], axis: 0, dtype: 'int32' },
  { name: 'empty rows', shape: [0, 4], axis: 0 },
];

async function sumOn(backend: 'cpu' | 'wasm', c: (typeof cases)[number]) {
  return onBackend(backend, async () => {
    const values = randomValues(sizeOf(c.shape), 3);
    const x =
      c.dtype === 'int32'
        ? tf.tensor(
            Int32Array.from(values, (v) => Math.round(v * 100)),
            c.shape,
            'int32',
          )
        : tf.tensor(values, c.shape);
    const before = tf.engine().backend.numDataIds();
    const y = tf.sum(x, c.axis, c.keepDims ?? false);
    const result = { shape: y.shape, values: await y.data() };
    y.dispose();
    expect(tf.engine().backend.numDataIds()).toBe(before);
    x.dispose();
    return result;
  });
}

describe('Sum on wasm equals cpu', () => {
  it.each(cases)('$name', async (c) => {
    const cpu = await sumOn('cpu', c);
    const wasm = await sumOn('wasm', c);
    expect(wasm.shape).toEqual(cpu.shape);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-5);
  });
});
