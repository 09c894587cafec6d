import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { onBackend, randomValues } from './test-helpers.js';

/** Identity and same-dtype Cast share data on wasm (as on cpu), with correct reference counts. */
describe('Identity and Cast on wasm', () => {
  it('a clone shares the data, outlives its source and frees it once both are disposed', async () => {
    await onBackend('wasm', async () => {
      const buffers = tf.engine().backend.numDataIds();
      const x = tf.tensor(randomValues(12, 1), [3, 4]);
      const y = tf.clone(x);
      const z = tf.cast(y, 'float32');
      expect(tf.engine().backend.numDataIds()).toBe(buffers + 1);
      const expected = Array.from(await x.data());
      x.dispose();
      expect(Array.from(await y.data())).toEqual(expected);
      y.dispose();
      expect(Array.from(await z.data())).toEqual(expected);
      z.dispose();
      expect(tf.engine().backend.numDataIds()).toBe(buffers);
    });
  });

  it.each([
    ['int32', 'float32'],
    ['float32', 'int32'],
    ['bool', 'float32'],
    ['int32', 'int32'],
    ['bool', 'bool'],
    // (float32 → bool differs upstream: tfjs-backend-wasm's Cast truncates 0.5 to false; not patched.)
  ] as const)('cast %s → %s equals cpu', async (from, to) => {
    const run = (backend: 'cpu' | 'wasm') =>
      onBackend(backend, async () => {
        const values = Array.from(randomValues(20, 2), (v) => (from === 'bool' ? (v > 0 ? 1 : 0) : v * 50));
        const x = tf.tensor(
          values,
          [4, 5],
          from === 'bool' ? 'bool' : from === 'int32' ? 'int32' : 'float32',
        );
        const y = tf.cast(x, to);
        const out = { dtype: y.dtype, values: Array.from(await y.data()) };
        tf.dispose([x, y]);
        return out;
      });
    expect(await run('wasm')).toEqual(await run('cpu'));
  });

  it('string tensors still clone', async () => {
    await onBackend('wasm', async () => {
      const s = tf.tensor(['a', 'bc'], [2], 'string');
      const c = tf.clone(s);
      s.dispose();
      expect(await c.data()).toEqual(['a', 'bc']);
      c.dispose();
    });
  });

  it('gradients that save their inputs (matMul, relu) equal cpu after the sources are disposed', async () => {
    const run = (backend: 'cpu' | 'wasm') =>
      onBackend(backend, async () => {
        const w = tf.variable(tf.tensor(randomValues(12, 3), [4, 3]));
        const x = tf.tensor(randomValues(8, 4), [2, 4]);
        const { grads } = tf.variableGrads(() => tf.relu(tf.matMul(x, w)).square().sum() as tf.Scalar, [w]);
        x.dispose();
        const values = Array.from(await grads[w.name]!.data());
        tf.dispose([w, ...Object.values(grads)]);
        return values;
      });
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(wasm.map((v, i) => Math.abs(v - cpu[i]!))).toSatisfy((d: number[]) => d.every((e) => e < 1e-5));
  });
});
