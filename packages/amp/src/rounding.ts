import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from '@tensorloop/core';

/** The number formats `amp` computes in: float32 (no rounding), IEEE half, or bfloat16. */
export type Precision = 'float32' | 'float16' | 'bfloat16';

export const PRECISIONS: readonly Precision[] = ['float32', 'float16', 'bfloat16'];

/** A binary floating-point format narrower than float32, as `roundToPrecision` rounds to it. */
export interface FloatFormat {
  readonly name: 'float16' | 'bfloat16';
  /** Significand bits, the implicit leading one included (11 for float16, 8 for bfloat16). */
  readonly significandBits: number;
  /** Exponent of the smallest normal number (−14, −126). */
  readonly minExponent: number;
  /** Exponent of the largest finite number (15, 127). */
  readonly maxExponent: number;
  /** Largest finite value (65504; 3.3895313892515355e38). */
  readonly max: number;
  /** Smallest positive normal value (2⁻¹⁴; 2⁻¹²⁶). */
  readonly minNormal: number;
  /** Smallest positive subnormal value (2⁻²⁴; 2⁻¹³³). */
  readonly minSubnormal: number;
  /** Distance from 1 to the next larger value (2⁻¹⁰; 2⁻⁷). */
  readonly epsilon: number;
}

function format(
  name: FloatFormat['name'],
  significandBits: number,
  minExponent: number,
  maxExponent: number,
) {
  const p = significandBits - 1;
  return Object.freeze({
    name,
    significandBits,
    minExponent,
    maxExponent,
    max: (2 - 2 ** -p) * 2 ** maxExponent,
    minNormal: 2 ** minExponent,
    minSubnormal: 2 ** (minExponent - p),
    epsilon: 2 ** -p,
  });
}

/** IEEE 754 binary16: 1 sign, 5 exponent, 10 fraction bits. */
export const FLOAT16: FloatFormat = format('float16', 11, -14, 15);
/** bfloat16: float32's 8 exponent bits with 7 fraction bits. */
export const BFLOAT16: FloatFormat = format('bfloat16', 8, -126, 127);

export const FORMATS: Readonly<Record<'float16' | 'bfloat16', FloatFormat>> = {
  float16: FLOAT16,
  bfloat16: BFLOAT16,
};

export function checkPrecision(value: unknown, what: string): Precision {
  if (PRECISIONS.includes(value as Precision)) return value as Precision;
  throw new TensorloopError(
    'TL_OPTION_INVALID',
    `${what} must be one of ${PRECISIONS.map((p) => `'${p}'`).join(', ')}; got ${JSON.stringify(value)}.`,
  );
}

/**
 * The value each element of `x` becomes when stored in `precision`: round to nearest, ties to even,
 * gradual underflow through the subnormals, overflow to ±Infinity; NaN and ±Infinity pass through.
 * The result is a float32 tensor holding exactly representable values; you own it. `'float32'`
 * returns a copy.
 *
 * tfjs has no float16 dtype, so this is arithmetic on float32: the element's exponent (from log2,
 * corrected by one where float32 rounding put it on the wrong side of a power of two), its unit in
 * the last place `2^(e − p + 1)` (fixed at the smallest normal's for subnormals), and `tf.round`
 * (banker's rounding) of the element in those units. Every step is exact in float32 on cpu and wasm.
 */
export function roundToPrecision<T extends tf.Tensor>(x: T, precision: Precision): T {
  if (precision === 'float32') return tf.clone(x);
  const f = FORMATS[precision];
  if (x.dtype !== 'float32') {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `roundToPrecision rounds float32 tensors; got a ${x.dtype} tensor.`,
    );
  }
  return tf.tidy(() => {
    const top = 2 ** f.significandBits; // one past the largest significand, in ulps
    const abs = tf.abs(x);
    const estimate = tf.clipByValue(tf.floor(tf.mul(tf.log(abs), Math.LOG2E)), f.minExponent, f.maxExponent);
    let ulp = tf.pow(2, tf.sub(estimate, f.significandBits - 1));
    const units = tf.div(abs, ulp);
    // The estimate is at most one off: a quotient past the significand range says which way.
    const tooLow = tf.greaterEqual(units, top);
    const tooHigh = tf.logicalAnd(tf.less(units, top / 2), tf.greater(estimate, f.minExponent));
    ulp = tf.where(tooLow, tf.mul(ulp, 2), tf.where(tooHigh, tf.mul(ulp, 0.5), ulp));
    const magnitude = tf.mul(tf.round(tf.div(abs, ulp)), ulp);
    const capped = tf.where(tf.greater(magnitude, f.max), tf.scalar(Number.POSITIVE_INFINITY), magnitude);
    // 1/x keeps the sign of −0, which `x < 0` would lose.
    const signed = tf.where(tf.less(tf.div(1, x), 0), tf.neg(capped), capped);
    return tf.where(tf.isFinite(x), signed, x) as T;
  });
}

/**
 * An identity that rounds on the way forward and on the way back: the value is
 * `roundToPrecision(x)`, and the gradient that flows through it is rounded too, as a cast to half
 * precision and its backward pass do on a GPU (so small gradients flush to zero there).
 */
export function roundingIdentity(precision: 'float16' | 'bfloat16'): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad((x) => ({
    value: roundToPrecision(x as tf.Tensor, precision),
    gradFunc: (dy: tf.Tensor) => roundToPrecision(dy, precision),
  })) as (x: tf.Tensor) => tf.Tensor;
}
