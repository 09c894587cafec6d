import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, test } from 'vitest';
import { BFLOAT16, FLOAT16, roundingIdentity, roundToPrecision } from './rounding.js';

afterAll(async () => {
  await tf.setBackend('cpu');
});

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float32 bits of a number (which must be a float32 value). */
function bits32(value: number): number {
  f32[0] = value;
  if (!Object.is(f32[0], value) && !Number.isNaN(value)) throw new Error(`${value} is not a float32`);
  return u32[0]!;
}

/** IEEE binary16 bits of a float32 value, rounded to nearest even: an integer reference, bit by bit. */
function halfBits(value: number): number {
  const u = bits32(value);
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    const kept = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    return sign | (rest > half || (rest === half && kept & 1) ? kept + 1 : kept);
  }
  const kept = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  return sign | (rest > 0x1000 || (rest === 0x1000 && kept & 1) ? kept + 1 : kept);
}

/** The value of binary16 bits. */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  if (exp === 0) return sign * frac * 2 ** -24;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits of a float32 value: the top 16 bits, rounded to nearest even (integer reference). */
function bf16Bits(value: number): number {
  const u = bits32(value);
  if ((u & 0x7f800000) === 0x7f800000 && u & 0x7fffff) return (u >>> 16) | 0x40;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

function bf16Value(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

function rounded(values: number[], precision: 'float16' | 'bfloat16'): number[] {
  return tf.tidy(() => Array.from(roundToPrecision(tf.tensor1d(values), precision).dataSync()));
}

describe.each(['cpu', 'wasm'])('roundToPrecision on %s', (backend) => {
  test('float16: known bit patterns (max, overflow, min normal, subnormals, ties to even)', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const cases: [number, number][] = [
      [65504, 0x7bff], // max
      [65519, 0x7bff], // just below the halfway point to 65536
      [65520, 0x7c00], // halfway: ties to even, the even neighbour is 2^16, which overflows
      [-65520, 0xfc00],
      [1e6, 0x7c00],
      [2 ** -14, 0x0400], // min normal
      [2 ** -14 - 2 ** -24, 0x03ff], // max subnormal
      [2 ** -24, 0x0001], // min subnormal
      [2 ** -25, 0x0000], // half the min subnormal: a tie, to even (0)
      [1.5 * 2 ** -25 + 2 ** -40, 0x0001],
      [3 * 2 ** -25, 0x0002], // 1.5 subnormal units: a tie, to even (2)
      [2 ** -26, 0x0000], // underflow
      [-(2 ** -24), 0x8001],
      [1, 0x3c00],
      [1 + 2 ** -11, 0x3c00], // tie between 1 and 1 + 2^-10: to even
      [1 + 3 * 2 ** -11, 0x3c02], // tie between 1 + 2^-10 and 1 + 2^-9: to even
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
      [2049, 0x6800], // 2048 and 2050 are neighbours; 2049 is a tie, to even (2048)
      [2051, 0x6802], // tie between 2050 and 2052: to even (2052)
      [Math.fround(0.1), 0x2e66],
      [Math.fround(1 / 3), 0x3555],
      [0, 0x0000],
    ];
    const got = rounded(
      cases.map(([v]) => v),
      'float16',
    );
    cases.forEach(([value, expected], i) => {
      expect(halfBits(got[i]!), `${value}`).toBe(expected);
      expect(Object.is(got[i], halfValue(expected)), `${value} → ${got[i]}`).toBe(true);
      expect(halfBits(Math.fround(value)), `reference for ${value}`).toBe(expected);
    });
  });

  test('float16: −0, ±Infinity and NaN pass through', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const got = rounded([-0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN], 'float16');
    expect(Object.is(got[0], -0)).toBe(true);
    expect(got.slice(1, 3)).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    expect(Number.isNaN(got[3])).toBe(true);
  });

  test('bfloat16: known bit patterns', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const cases: [number, number][] = [
      [BFLOAT16.max, 0x7f7f],
      [Math.fround(3.4028234663852886e38), 0x7f80], // float32 max rounds up to Infinity
      [2 ** -126, 0x0080], // min normal
      [2 ** -133, 0x0001], // min subnormal
      [2 ** -134, 0x0000], // half of it: a tie, to even
      [3 * 2 ** -134, 0x0002], // 1.5 units: a tie, to even
      [1, 0x3f80],
      [1 + 2 ** -8, 0x3f80], // tie: to even
      [1 + 3 * 2 ** -8, 0x3f82], // tie: to even
      [Math.fround(Math.PI), 0x4049],
      [-2.5, 0xc020],
    ];
    const got = rounded(
      cases.map(([v]) => v),
      'bfloat16',
    );
    cases.forEach(([value, expected], i) => {
      expect(bf16Bits(got[i]!), `${value}`).toBe(expected);
      expect(Object.is(got[i], bf16Value(expected)), `${value} → ${got[i]}`).toBe(true);
    });
  });

  test('agrees bit for bit with an integer reference on 60,000 values across every exponent', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    let seed = 12345;
    const next = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    for (const [precision, lo, hi, toBits, fromBits] of [
      ['float16', -30, 17, halfBits, halfValue],
      ['bfloat16', -140, 128, bf16Bits, bf16Value],
    ] as const) {
      const values: number[] = [];
      for (let i = 0; i < 30_000; i++) {
        const magnitude = Math.fround(2 ** (lo + (hi - lo) * next()) * (1 + next()));
        values.push(next() < 0.5 ? -magnitude : magnitude);
      }
      // Exact ties of the target format, where rounding mistakes hide.
      for (let k = 0; k < 2000; k++) values[k] = Math.fround((1 + (2 * k + 1) / 2 ** 11) * 2 ** (k % 20));
      const got = rounded(values, precision);
      let wrong = 0;
      values.forEach((v, i) => {
        if (!Object.is(got[i], fromBits(toBits(v)))) wrong += 1;
      });
      expect(wrong, precision).toBe(0);
    }
  });

  test('float32 is a copy; a non-float tensor is refused', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const x = tf.tensor1d([0.1, 1e-30]);
    const y = roundToPrecision(x, 'float32');
    expect(y).not.toBe(x);
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    const ints = tf.tensor1d([1, 2], 'int32');
    expect(() => roundToPrecision(ints, 'float16')).toThrow(/float32 tensors/);
    tf.dispose([x, y, ints]);
  });

  test('roundingIdentity rounds the gradient too: a gradient under half the smallest subnormal flushes to zero', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const round = roundingIdentity('float16');
    const gradFor = (scale: number) =>
      tf.tidy(
        () =>
          tf
            .grad((x: tf.Tensor) => tf.sum(tf.mul(round(x), scale)))(tf.tensor1d([1.3]))
            .dataSync()[0],
      );
    expect(gradFor(1e-8)).toBe(0); // below 2^-25 ≈ 2.98e-8
    expect(gradFor(1e-7)).toBe(2 * 2 ** -24); // 1.68 units of 2^-24: two units
    expect(gradFor(0.1)).toBe(halfValue(0x2e66));
    expect(tf.tidy(() => round(tf.tensor1d([1.3])).dataSync()[0])).toBe(
      halfValue(halfBits(Math.fround(1.3))),
    );
  });

  test('leaves no tensor behind', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const x = tf.tensor1d([1.5, 70000, 1e-9]);
    const before = tf.memory().numTensors;
    const y = roundToPrecision(x, 'float16');
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([x, y]);
  });
});

test('the format constants', () => {
  expect(FLOAT16).toMatchObject({
    max: 65504,
    minNormal: 2 ** -14,
    minSubnormal: 2 ** -24,
    epsilon: 2 ** -10,
  });
  expect(BFLOAT16).toMatchObject({ minNormal: 2 ** -126, minSubnormal: 2 ** -133, epsilon: 2 ** -7 });
  expect(BFLOAT16.max).toBe(bf16Value(0x7f7f));
});
