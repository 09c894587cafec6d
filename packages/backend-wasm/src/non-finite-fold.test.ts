import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { NON_FINITE_FOLD } from './non-finite-fold.js';
import { onBackend, randomValues } from './test-helpers.js';

/**
 * The watch's fold kernel against a plain JS reading of its contract (see non-finite-fold.ts):
 * random states and gates, NaN/±Inf at the first, a middle or the last element of quantities of
 * sizes around the SIMD width, large finite values that must not count, empty quantities.
 */

type State = [number, number, number, number];

function reference(state: State, gate: number | undefined, quantities: Float32Array[]): State {
  const which = quantities.findIndex((q, i) => (i === 0 || gate !== 0) && q.some((v) => !Number.isFinite(v)));
  const [firstStep, firstQuantity, counter, badCount] = state;
  const anyBad = which >= 0 ? 1 : 0;
  const take = firstStep < 0 && anyBad === 1;
  return [take ? counter : firstStep, take ? which : firstQuantity, counter + 1, badCount + anyBad];
}

async function fold(state: State, gate: number | undefined, quantities: Float32Array[]): Promise<number[]> {
  return onBackend('wasm', async () => {
    const before = tf.memory().numTensors;
    const inputs: Record<string, tf.Tensor> = { state: tf.tensor1d(state) };
    if (gate !== undefined) inputs.gate = tf.scalar(gate);
    quantities.forEach((q, i) => {
      inputs[`q${i}`] = i === 0 && q.length === 1 ? tf.scalar(q[0]!) : tf.tensor(q, [q.length]);
    });
    const out = tf.engine().runKernel(NON_FINITE_FOLD, inputs, { count: quantities.length }) as tf.Tensor;
    expect(out.shape).toEqual([4]);
    const values = Array.from(await out.data());
    tf.dispose([out, ...Object.values(inputs)]);
    expect(tf.memory().numTensors).toBe(before);
    return values;
  });
}

const SIZES = [0, 1, 3, 4, 5, 8, 17, 1000, 1003];
const BAD = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
/** Finite values that a sloppy probe might take for overflow (the largest float32, subnormals, -0). */
const LARGE = [3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -0];

/** A deterministic stream of integers in [0, n), so failures reproduce. */
function picker(seed: number) {
  const values = randomValues(10_000, seed);
  let at = 0;
  return (n: number) => Math.floor(((values[at++ % values.length]! + 1) / 2) * n);
}

describe(`${NON_FINITE_FOLD} on wasm`, () => {
  it('is registered for wasm', async () => {
    await onBackend('wasm', () => expect(tf.getKernel(NON_FINITE_FOLD, 'wasm')).toBeDefined());
  });

  it.each(
    BAD.map((v) => [v]),
  )('finds %d at the first, a middle and the last element of every size', async (bad) => {
    for (const size of SIZES.filter((s) => s > 0)) {
      for (const at of new Set([0, size >> 1, size - 1])) {
        const q = randomValues(size, size + at);
        q[at] = bad;
        const state: State = [-1, -1, 7, 0];
        expect(await fold(state, undefined, [new Float32Array([0.5]), q])).toEqual([7, 1, 8, 1]);
      }
    }
  });

  it('large finite values, subnormals and -0 are finite', async () => {
    for (const size of SIZES) {
      const q = randomValues(size, 11);
      for (let i = 0; i < size; i++) q[i] = LARGE[i % LARGE.length]! * (q[i]! < 0 ? -1 : 1);
      expect(await fold([-1, -1, 0, 0], undefined, [new Float32Array([LARGE[0]!]), q])).toEqual([
        -1, -1, 1, 0,
      ]);
    }
  });

  it('the first bad step wins: a later one only counts', async () => {
    const nan = new Float32Array([Number.NaN]);
    const fine = new Float32Array([1, 2, 3]);
    const inf = new Float32Array([1, Number.POSITIVE_INFINITY, 3]);
    let state = (await fold([-1, -1, 0, 0], undefined, [new Float32Array([1]), fine])) as State;
    expect(state).toEqual([-1, -1, 1, 0]);
    state = (await fold(state, undefined, [new Float32Array([1]), fine, inf])) as State;
    expect(state).toEqual([1, 2, 2, 1]);
    state = (await fold(state, undefined, [nan, inf])) as State;
    expect(state).toEqual([1, 2, 3, 2]);
  });

  it('a gate of 0 hides the gradients, never the loss', async () => {
    const inf = new Float32Array([Number.NEGATIVE_INFINITY]);
    expect(await fold([-1, -1, 4, 0], 0, [new Float32Array([1]), inf])).toEqual([-1, -1, 5, 0]);
    expect(await fold([-1, -1, 4, 0], 1, [new Float32Array([1]), inf])).toEqual([4, 1, 5, 1]);
    expect(await fold([-1, -1, 4, 0], 0, [new Float32Array([Number.NaN]), inf])).toEqual([4, 0, 5, 1]);
  });

  it('matches the reference over random states, gates and quantities', async () => {
    const pick = picker(42);
    for (let trial = 0; trial < 300; trial++) {
      const count = 1 + pick(5);
      const quantities = Array.from({ length: count }, (_, i) => {
        const size = i === 0 ? 1 : SIZES[pick(SIZES.length)]!;
        const q = randomValues(size, trial * 10 + i);
        if (size > 0 && pick(3) === 0) {
          const at = [0, size >> 1, size - 1][pick(3)]!;
          q[at] = pick(2) === 0 ? BAD[pick(BAD.length)]! : LARGE[pick(LARGE.length)]!;
        }
        return q;
      });
      const first = pick(2) === 0 ? [-1, -1] : [pick(100), pick(count)];
      const state: State = [first[0]!, first[1]!, pick(1000), pick(50)];
      const gate = [undefined, 0, 1][pick(3)];
      expect(await fold(state, gate, quantities), `trial ${trial}`).toEqual(
        reference(state, gate, quantities),
      );
    }
  });
});
