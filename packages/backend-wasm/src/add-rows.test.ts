import { describe, expect, it } from 'vitest';
import { randomValues, runKernelOn, sizeOf } from './test-helpers.js';

/** Add on wasm (compiled row broadcast; other adds by tfjs's kernel) against cpu, exactly. */

const cases: { name: string; a: number[]; b: number[]; dtype?: 'int32' }[] = [
  { name: 'conv bias [n,h,w,16] + [16]', a: [4, 26, 26, 16], b: [16] },
  { name: 'dense bias [128,10] + [10]', a: [128, 10], b: [10] },
  { name: 'bias first: [10] + [128,10]', a: [10], b: [128, 10] },
  { name: 'bias with leading ones [1,1,7] + [3,5,7]', a: [1, 1, 7], b: [3, 5, 7] },
  { name: 'trailing block [5,6] on [4,5,6]', a: [4, 5, 6], b: [5, 6] },
  { name: 'width not a multiple of 4', a: [9, 7], b: [7] },
  { name: 'scalar', a: [6, 5], b: [] },
  { name: 'same shapes (tfjs kernel)', a: [8, 5], b: [8, 5] },
  { name: 'middle-axis broadcast (tfjs kernel)', a: [4, 5, 6], b: [5, 1] },
  { name: 'both sides broadcast (tfjs kernel)', a: [4, 1], b: [1, 5] },
  { name: 'int32 (tfjs kernel)', a: [6, 4], b: [4], dtype: 'int32' },
  { name: 'empty rows', a: [0, 4], b: [4] },
];

function spec(shape: number[], seed: number, dtype?: 'int32') {
  const values = randomValues(sizeOf(shape), seed);
  return dtype === 'int32'
    ? { shape, values: Int32Array.from(values, (v) => Math.round(v * 100)), dtype }
    : { shape, values };
}

describe('Add on wasm equals cpu', () => {
  it.each(cases)('$name', async (c) => {
    const inputs = { a: spec(c.a, 1, c.dtype), b: spec(c.b, 2, c.dtype) };
    const cpu = await runKernelOn('cpu', 'Add', inputs, {});
    const wasm = await runKernelOn('wasm', 'Add', inputs, {});
    expect(wasm.shape).toEqual(cpu.shape);
    expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
  });
});
