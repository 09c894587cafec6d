import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from '@tensorloop/core';

/** Inputs and one-hot (or real-valued) targets, as `Trainer.fit` takes them. You own the tensors. */
export interface TensorPair {
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor2D;
}

interface MnistDigit {
  readonly length: number;
  set(start: number, end: number): { input: number[]; output: number[] }[];
}

/** The `mnist` package holds about 1,000 digits per class. */
const MNIST_PER_CLASS = 1000;

function count(name: string, value: number, min: number, max = Number.POSITIVE_INFINITY): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `@tensorloop/testkit: ${name} must be an integer in [${min}, ${max}]; got ${value}.`,
    );
  }
  return value;
}

/**
 * Real MNIST digits (the `mnist` package, 784 inputs in [0, 1], one-hot labels): samples
 * `offset … offset + perClass − 1` of every class, in class order. Deterministic; no download.
 */
export function mnistDigits(perClass: number, offset = 0): TensorPair {
  count('perClass', perClass, 1, MNIST_PER_CLASS);
  count('offset', offset, 0, MNIST_PER_CLASS - perClass);
  const mnist = createRequire(import.meta.url)('mnist') as Record<string, MnistDigit>;
  const rows: { input: number[]; output: number[] }[] = [];
  for (let d = 0; d < 10; d++) rows.push(...mnist[d]!.set(offset, offset + perClass - 1));
  return { x: tf.tensor2d(rows.map((r) => r.input)), y: tf.tensor2d(rows.map((r) => r.output)) };
}

export interface ClassificationDataOptions {
  /** Default 4. */
  readonly inputs?: number;
  /** Default 3. */
  readonly classes?: number;
  /** Default 7. The same seed gives the same rows in every process. */
  readonly seed?: number;
}

/** Seeded random inputs labelled by a fixed random linear rule (one-hot): learnable in a few steps. */
export function classificationData(n: number, options: ClassificationDataOptions = {}): TensorPair {
  const { inputs = 4, classes = 3, seed = 7 } = options;
  count('n', n, 1);
  return tf.tidy(() => {
    const x = tf.randomNormal([n, inputs], 0, 1, 'float32', seed) as tf.Tensor2D;
    const w = tf.randomNormal([inputs, classes], 0, 1, 'float32', seed + 1);
    const labels = tf.argMax(tf.matMul(x, w), 1);
    return { x, y: tf.oneHot(labels, classes).toFloat() as tf.Tensor2D };
  });
}

export interface RegressionDataOptions {
  /** Default 3. */
  readonly inputs?: number;
  /** Standard deviation of the noise added to the targets. Default 0.05. */
  readonly noise?: number;
  /** Default 11. */
  readonly seed?: number;
}

/** Seeded inputs with targets `x·w + 0.5 + noise` for a fixed random `w` (one output column). */
export function regressionData(n: number, options: RegressionDataOptions = {}): TensorPair {
  const { inputs = 3, noise = 0.05, seed = 11 } = options;
  count('n', n, 1);
  return tf.tidy(() => {
    const x = tf.randomNormal([n, inputs], 0, 1, 'float32', seed) as tf.Tensor2D;
    const w = tf.randomNormal([inputs, 1], 0, 1, 'float32', seed + 1);
    const eps = tf.randomNormal([n, 1], 0, noise, 'float32', seed + 2);
    return { x, y: tf.add(tf.add(tf.matMul(x, w), 0.5), eps) as tf.Tensor2D };
  });
}
