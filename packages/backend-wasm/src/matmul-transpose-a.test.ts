import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { compiledKernels, pointerOf } from './compiled.js';
import type { WasmBackend } from './kernel-utils.js';
import { onBackend, randomValues, relativeError } from './test-helpers.js';

/**
 * The compiled aᵀ·b (filter gradients of convs with few patch columns) against cpu's
 * matMul(a, b, transposeA), over row counts across its 256-row chunks and column counts that
 * exercise each block shape (4×8, 1×8, 1×4, scalar columns).
 */
const cases: [rows: number, m: number, n: number][] = [
  [43, 9, 16],
  [300, 9, 16],
  [513, 144, 32],
  [257, 5, 13],
  [64, 4, 8],
  [70, 3, 6],
  [11, 7, 3],
  [1, 1, 1],
  [0, 3, 8],
];

describe('matmulTransposeA equals cpu matMul(a, b, true, false)', () => {
  it.each(cases)('rows %i, a [rows, %i], b [rows, %i]', async (rows, m, n) => {
    const a = randomValues(rows * m, 31);
    const b = randomValues(rows * n, 32);
    const expected = await onBackend('cpu', () =>
      tf.tidy(() => tf.matMul(tf.tensor2d(a, [rows, m]), tf.tensor2d(b, [rows, n]), true, false)).data(),
    );
    const actual = await onBackend('wasm', async () => {
      const backend = tf.backend() as WasmBackend;
      const ta = tf.tensor2d(a, [rows, m]);
      const tb = tf.tensor2d(b, [rows, n]);
      const out = tf.fill([m, n], Number.NaN); // every element must be written
      compiledKernels(backend).matmulTransposeA(
        pointerOf(backend, ta),
        pointerOf(backend, tb),
        pointerOf(backend, out),
        rows,
        m,
        n,
      );
      const values = await out.data();
      tf.dispose([ta, tb, out]);
      return values;
    });
    expect(actual.length).toBe(m * n);
    if (rows === 0) expect(Array.from(actual)).toEqual(new Array(m * n).fill(0));
    else expect(relativeError(actual, expected)).toBeLessThan(1e-5);
  });
});
