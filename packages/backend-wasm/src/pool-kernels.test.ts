import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { onBackend, randomValues, relativeError, sizeOf } from './test-helpers.js';

interface PoolCase {
  name: string;
  x: [number, number, number, number];
  filterSize: [number, number];
  strides: [number, number];
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
  /** Round inputs to a few levels so windows contain ties. */
  ties?: boolean;
}

const cases: PoolCase[] = [
  { name: '2x2 stride 2 valid', x: [2, 8, 8, 3], filterSize: [2, 2], strides: [2, 2], pad: 'valid' },
  { name: '3x3 stride 2 same', x: [2, 9, 7, 2], filterSize: [3, 3], strides: [2, 2], pad: 'same' },
  {
    name: '3x3 stride 1 same (overlapping)',
    x: [1, 6, 6, 4],
    filterSize: [3, 3],
    strides: [1, 1],
    pad: 'same',
  },
  { name: '2x3 stride (1,2) numeric pad', x: [2, 7, 8, 2], filterSize: [2, 3], strides: [1, 2], pad: 1 },
  { name: 'ties', x: [2, 8, 8, 2], filterSize: [2, 2], strides: [2, 2], pad: 'valid', ties: true },
  // Channels in SIMD groups of four plus a remainder, and the benchmark CNN's pools.
  { name: '5 channels 2x2 stride 2', x: [2, 6, 6, 5], filterSize: [2, 2], strides: [2, 2], pad: 'valid' },
  { name: '7 channels 3x3 stride 1 same', x: [2, 5, 6, 7], filterSize: [3, 3], strides: [1, 1], pad: 'same' },
  { name: 'benchmark pool1 28x28x16', x: [2, 28, 28, 16], filterSize: [2, 2], strides: [2, 2], pad: 'valid' },
  { name: 'benchmark pool2 14x14x32', x: [2, 14, 14, 32], filterSize: [2, 2], strides: [2, 2], pad: 'valid' },
  // Disjoint windows (stride ≥ window): the masked-store path, with padding and remainders.
  {
    name: 'benchmark pool2 11x11x32 (remainder)',
    x: [2, 11, 11, 32],
    filterSize: [2, 2],
    strides: [2, 2],
    pad: 'valid',
  },
  {
    name: '2x2 stride 2 same, odd input (padding taps)',
    x: [2, 7, 9, 8],
    filterSize: [2, 2],
    strides: [2, 2],
    pad: 'same',
  },
  {
    name: '2x2 stride 2, explicit pad top/left 1 on even input',
    x: [1, 6, 8, 4],
    filterSize: [2, 2],
    strides: [2, 2],
    pad: [
      [0, 0],
      [1, 0],
      [1, 0],
      [0, 0],
    ],
  },
  {
    name: '2x2 stride 3 (gaps between windows)',
    x: [1, 8, 8, 4],
    filterSize: [2, 2],
    strides: [3, 3],
    pad: 'valid',
  },
  {
    name: '3x3 stride 3 tiling 9x9, 8 channels',
    x: [2, 9, 9, 8],
    filterSize: [3, 3],
    strides: [3, 3],
    pad: 'valid',
  },
  {
    name: '3x3 stride 3 same, 6 channels',
    x: [2, 10, 8, 6],
    filterSize: [3, 3],
    strides: [3, 3],
    pad: 'same',
    ties: true,
  },
  { name: 'ties, 8 channels', x: [1, 6, 6, 8], filterSize: [3, 3], strides: [2, 2], pad: 'same', ties: true },
  {
    name: 'window larger than stride, valid',
    x: [1, 9, 9, 4],
    filterSize: [4, 3],
    strides: [2, 3],
    pad: 'valid',
  },
];

/** Inputs all ≤ 0: the case tfjs-backend-wasm's own MaxPoolGrad gets wrong. */
function inputValues(c: PoolCase, negative: boolean): Float32Array {
  const values = randomValues(sizeOf(c.x), 5);
  return values.map((v) => {
    const u = c.ties ? Math.round(v * 2) / 2 : v;
    return negative ? -Math.abs(u) : u;
  });
}

async function poolGrad(backend: 'cpu' | 'wasm', kind: 'max' | 'avg', c: PoolCase, negative: boolean) {
  return onBackend(backend, async () => {
    const x = tf.tensor4d(inputValues(c, negative), c.x);
    const pool = (t: tf.Tensor4D) =>
      kind === 'max'
        ? tf.maxPool(t, c.filterSize, c.strides, c.pad)
        : tf.avgPool(t, c.filterSize, c.strides, c.pad);
    const weights = tf.tidy(() => tf.tensor(randomValues(sizeOf(pool(x).shape), 6), pool(x).shape));
    const g = tf.grad((t: tf.Tensor) =>
      pool(t as tf.Tensor4D)
        .mul(weights)
        .sum(),
    )(x);
    const values = await g.data();
    tf.dispose([x, weights, g]);
    return values;
  });
}

describe('MaxPoolGrad on wasm equals cpu', () => {
  it.each(cases)('$name, mixed-sign inputs', async (c) => {
    const cpu = await poolGrad('cpu', 'max', c, false);
    const wasm = await poolGrad('wasm', 'max', c, false);
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-6);
  });
  it.each(cases)('$name, inputs ≤ 0', async (c) => {
    const cpu = await poolGrad('cpu', 'max', c, true);
    const wasm = await poolGrad('wasm', 'max', c, true);
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-6);
  });
});

describe('AvgPoolGrad on wasm equals cpu', () => {
  it.each(cases)('$name', async (c) => {
    const cpu = await poolGrad('cpu', 'avg', c, false);
    const wasm = await poolGrad('wasm', 'avg', c, false);
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-4);
  });
});

describe('pool gradient kernels, called directly', () => {
  // dimRoundingMode is only reachable through the kernel attributes (tfjs-layers never sets it).
  it.each([
    'floor',
    'round',
    'ceil',
  ] as const)('MaxPoolGrad and AvgPoolGrad with dimRoundingMode %s', async (mode) => {
    const xShape = [2, 7, 7, 6];
    const attrs = { filterSize: [3, 3], strides: [2, 2], pad: 1, dimRoundingMode: mode };
    const run = (backend: 'cpu' | 'wasm', kernel: 'MaxPoolGrad' | 'AvgPoolGrad') =>
      onBackend(backend, async () => {
        const x = tf.tensor4d(randomValues(sizeOf(xShape), 9), xShape as [number, number, number, number]);
        const y = tf.engine().runKernel('MaxPool', { x }, attrs) as tf.Tensor;
        const dy = tf.tensor(randomValues(sizeOf(y.shape), 10), y.shape);
        const inputs: tf.NamedTensorMap =
          kernel === 'MaxPoolGrad' ? { dy, input: x, output: y } : { dy, input: x };
        const before = tf.engine().backend.numDataIds();
        const dx = tf.engine().runKernel(kernel, inputs, attrs) as tf.Tensor;
        const values = await dx.data();
        dx.dispose();
        expect(tf.engine().backend.numDataIds()).toBe(before);
        tf.dispose([x, y, dy]);
        return values;
      });
    for (const kernel of ['MaxPoolGrad', 'AvgPoolGrad'] as const) {
      const cpu = await run('cpu', kernel);
      const wasm = await run('wasm', kernel);
      expect(relativeError(wasm, cpu)).toBeLessThan(1e-6);
    }
  });
});
