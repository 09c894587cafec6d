import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { type BackendName, onBackend, randomValues, sizeOf } from './test-helpers.js';

/**
 * GatherV2, Slice and Concat on wasm against the cpu backend: copies, so the values must be
 * identical, over ranks, axes, dtypes (float32, int32, bool, string) and edge cases (empty
 * tensors, repeated indices, one-element runs, indices out of range).
 */

type DType = 'float32' | 'int32' | 'bool' | 'string';

function make(shape: number[], dtype: DType, seed: number): tf.Tensor {
  const values = randomValues(sizeOf(shape), seed);
  if (dtype === 'float32') return tf.tensor(values, shape, 'float32');
  if (dtype === 'int32')
    return tf.tensor(
      Int32Array.from(values, (v) => Math.round(v * 1000)),
      shape,
      'int32',
    );
  if (dtype === 'bool')
    return tf.tensor(
      Uint8Array.from(values, (v) => (v > 0 ? 1 : 0)),
      shape,
      'bool',
    );
  return tf.tensor(
    Array.from(values, (v) => `s${Math.round(v * 100)}`),
    shape,
    'string',
  );
}

interface Result {
  shape: number[];
  dtype: string;
  values: unknown[];
}

async function on(backend: BackendName, fn: () => tf.Tensor): Promise<Result> {
  return onBackend(backend, async () => {
    const out = fn();
    const result = {
      shape: out.shape,
      dtype: out.dtype,
      values: Array.from((await out.data()) as ArrayLike<unknown>),
    };
    out.dispose();
    return result;
  });
}

async function expectSame(fn: () => tf.Tensor): Promise<Result> {
  const cpu = await on('cpu', fn);
  const wasm = await on('wasm', fn);
  expect(wasm).toEqual(cpu);
  return cpu;
}

/** Builds the inputs on the active backend inside a tidy, so only the result survives. */
const withInputs = (build: () => tf.Tensor[], op: (...inputs: tf.Tensor[]) => tf.Tensor) => (): tf.Tensor =>
  tf.tidy(() => op(...build()));

interface GatherCase {
  name: string;
  x: number[];
  dtype: DType;
  indices: number[];
  indicesShape?: number[];
  axis?: number;
  batchDims?: number;
}

const gatherCases: GatherCase[] = [
  { name: 'MNIST rows (784 floats)', x: [20, 784], dtype: 'float32', indices: [3, 0, 19, 7, 3, 12] },
  { name: 'image rows [n,28,28,1]', x: [9, 28, 28, 1], dtype: 'float32', indices: [8, 1, 4, 4] },
  { name: 'short rows (3 floats, loop path)', x: [11, 3], dtype: 'float32', indices: [10, 0, 5, 5, 2] },
  { name: 'rank 1 (one-element runs)', x: [13], dtype: 'float32', indices: [12, 0, 6, 6, 1] },
  { name: 'int32 labels', x: [15, 10], dtype: 'int32', indices: [14, 2, 2, 9] },
  { name: 'bool rows', x: [8, 5], dtype: 'bool', indices: [7, 3, 0] },
  { name: 'axis 1', x: [3, 7, 4], dtype: 'float32', indices: [6, 0, 2], axis: 1 },
  { name: 'last axis', x: [2, 3, 9], dtype: 'float32', indices: [8, 0, 4, 4], axis: 2 },
  { name: '2-D indices', x: [10, 6], dtype: 'float32', indices: [1, 2, 3, 9, 8, 7], indicesShape: [2, 3] },
  {
    name: 'batchDims 1',
    x: [3, 5, 4],
    dtype: 'float32',
    indices: [4, 0, 1, 1, 3, 2],
    indicesShape: [3, 2],
    axis: 1,
    batchDims: 1,
  },
  { name: 'no indices', x: [5, 4], dtype: 'float32', indices: [], indicesShape: [0] },
  { name: 'rows of width 0', x: [5, 0], dtype: 'float32', indices: [1, 2] },
];

describe('GatherV2 on wasm equals cpu', () => {
  it.each(gatherCases)('$name', async (c) => {
    const result = await expectSame(
      withInputs(
        () => [make(c.x, c.dtype, 1), tf.tensor(c.indices, c.indicesShape ?? [c.indices.length], 'int32')],
        (x, i) => tf.gather(x!, i!, c.axis ?? 0, c.batchDims ?? 0),
      ),
    );
    if (c.indices.length > 0 && sizeOf(c.x) > 0) expect(result.values.length).toBeGreaterThan(0);
  });

  it.each([
    [-1, 'negative'],
    [5, 'past the end'],
  ])('an index %s (%s) throws, as on cpu', async (bad) => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await onBackend(backend, () => {
        const before = tf.memory().numTensors;
        const x = make([5, 3], 'float32', 2);
        const i = tf.tensor1d([0, bad], 'int32');
        expect(() => tf.gather(x, i)).toThrow(/index value/);
        tf.dispose([x, i]);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  });
});

interface SliceCase {
  name: string;
  x: number[];
  dtype: DType;
  begin: number[];
  size: number[];
}

const sliceCases: SliceCase[] = [
  { name: 'rows of a 2-D dataset', x: [50, 784], dtype: 'float32', begin: [17, 0], size: [8, -1] },
  {
    name: 'rows of images',
    x: [12, 28, 28, 1],
    dtype: 'float32',
    begin: [5, 0, 0, 0],
    size: [4, -1, -1, -1],
  },
  {
    name: 'inner box (merged trailing axis)',
    x: [5, 4, 3],
    dtype: 'float32',
    begin: [1, 1, 0],
    size: [3, 2, 3],
  },
  { name: 'innermost cut', x: [5, 4, 6], dtype: 'float32', begin: [0, 1, 2], size: [5, 2, 3] },
  { name: 'columns (one-element runs)', x: [9, 7], dtype: 'float32', begin: [0, 3], size: [9, 1] },
  { name: 'rank 1', x: [30], dtype: 'float32', begin: [4], size: [20] },
  {
    name: 'rank 6',
    x: [2, 3, 2, 3, 2, 4],
    dtype: 'float32',
    begin: [1, 0, 1, 1, 0, 1],
    size: [1, 3, 1, 2, 2, 2],
  },
  { name: 'int32', x: [10, 10], dtype: 'int32', begin: [2, 3], size: [5, 4] },
  { name: 'bool', x: [6, 8], dtype: 'bool', begin: [1, 2], size: [4, 5] },
  { name: 'string (tfjs kernel)', x: [6, 3], dtype: 'string', begin: [2, 1], size: [3, 2] },
  { name: 'whole tensor', x: [4, 5], dtype: 'float32', begin: [0, 0], size: [4, 5] },
  { name: 'empty box', x: [4, 5], dtype: 'float32', begin: [2, 0], size: [0, 5] },
];

describe('Slice on wasm equals cpu', () => {
  it.each(sliceCases)('$name', async (c) => {
    await expectSame(
      withInputs(
        () => [make(c.x, c.dtype, 3)],
        (x) => tf.slice(x!, c.begin, c.size),
      ),
    );
  });

  it('a box past the end throws, as on cpu', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await onBackend(backend, () => {
        const x = make([4, 5], 'float32', 4);
        expect(() => tf.slice(x, [3, 0], [2, 5])).toThrow();
        x.dispose();
      });
    }
  });
});

interface ConcatCase {
  name: string;
  shapes: number[][];
  dtype: DType;
  axis: number;
}

const concatCases: ConcatCase[] = [
  {
    name: 'rows (axis 0)',
    shapes: [
      [2, 784],
      [5, 784],
      [1, 784],
    ],
    dtype: 'float32',
    axis: 0,
  },
  {
    name: 'one-element columns',
    shapes: [
      [40, 1],
      [40, 1],
      [40, 1],
    ],
    dtype: 'float32',
    axis: 1,
  },
  {
    name: 'features (axis -1)',
    shapes: [
      [6, 3, 20],
      [6, 3, 5],
    ],
    dtype: 'float32',
    axis: -1,
  },
  {
    name: 'middle axis',
    shapes: [
      [4, 2, 3],
      [4, 5, 3],
    ],
    dtype: 'float32',
    axis: 1,
  },
  {
    name: 'with an empty part',
    shapes: [
      [0, 3],
      [4, 3],
      [0, 3],
    ],
    dtype: 'float32',
    axis: 0,
  },
  { name: 'a single part', shapes: [[3, 4]], dtype: 'float32', axis: 1 },
  {
    name: 'int32',
    shapes: [
      [3, 2],
      [3, 7],
    ],
    dtype: 'int32',
    axis: 1,
  },
  {
    name: 'bool',
    shapes: [
      [2, 4],
      [3, 4],
    ],
    dtype: 'bool',
    axis: 0,
  },
  {
    name: 'string (tfjs kernel)',
    shapes: [
      [2, 2],
      [2, 1],
    ],
    dtype: 'string',
    axis: 1,
  },
];

describe('Concat on wasm equals cpu', () => {
  it.each(concatCases)('$name', async (c) => {
    await expectSame(
      withInputs(
        () => c.shapes.map((shape, i) => make(shape, c.dtype, 10 + i)),
        (...parts) => tf.concat(parts, c.axis),
      ),
    );
  });
});

describe('data movement kernels on wasm', () => {
  it('leave no tensor or heap buffer behind (1,000 calls)', async () => {
    await onBackend('wasm', () => {
      const x = make([64, 784], 'float32', 5);
      const order = tf.tensor1d(
        Array.from({ length: 64 }, (_, i) => (i * 37) % 64),
        'int32',
      );
      const run = () =>
        tf.tidy(() => {
          const batch = tf.gather(x, tf.slice(order, [8], [16]));
          return tf.concat([tf.slice(batch, [0, 0], [8, -1]), batch], 0).sum();
        });
      tf.dispose(run());
      const before = tf.memory();
      const buffers = tf.engine().backend.numDataIds();
      for (let i = 0; i < 1000; i++) tf.dispose(run());
      expect(tf.memory().numTensors).toBe(before.numTensors);
      expect(tf.memory().numBytes).toBe(before.numBytes);
      expect(tf.engine().backend.numDataIds()).toBe(buffers);
      tf.dispose([x, order]);
    });
  });

  it('train through gather and concat with the gradients of cpu', async () => {
    const gradients = async (backend: BackendName) =>
      onBackend(backend, async () => {
        const table = make([12, 5], 'float32', 6);
        const ids = tf.tensor1d([3, 3, 11, 0, 7], 'int32');
        const g = tf.grad((t: tf.Tensor) =>
          tf
            .concat([tf.gather(t, ids), tf.slice(t, [2, 0], [4, 5])], 0)
            .square()
            .sum(),
        )(table);
        const values = Array.from(await g.data());
        tf.dispose([table, ids, g]);
        return values;
      });
    expect(await gradients('wasm')).toEqual(await gradients('cpu'));
  });
});
