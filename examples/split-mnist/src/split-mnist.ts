import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

interface MnistDigit {
  readonly length: number;
  set(start: number, end: number): { input: number[]; output: number[] }[];
}

export interface Task {
  readonly name: string;
  readonly classes: readonly number[];
  readonly train: { readonly x: tf.Tensor2D; readonly y: tf.Tensor2D };
  readonly test: { readonly x: tf.Tensor2D; readonly y: tf.Tensor2D };
}

/**
 * Split-MNIST (class-incremental, one 10-way head): five tasks of two digits, {0,1}, {2,3}, …, {8,9}.
 * Real digits from the `mnist` package (about 1,000 per class): the first `trainPerClass` of each
 * class for training, `testPerClass` from digit 800 on for testing.
 */
export function splitMnist(trainPerClass: number, testPerClass: number): Task[] {
  const mnist = createRequire(import.meta.url)('mnist') as Record<string, MnistDigit>;
  const rows = (digit: number, from: number, count: number) => mnist[digit]!.set(from, from + count - 1);
  const tensors = (list: { input: number[]; output: number[] }[]) => ({
    x: tf.tensor2d(list.map((r) => r.input)),
    y: tf.tensor2d(list.map((r) => r.output)),
  });
  return [0, 2, 4, 6, 8].map((first) => {
    const classes = [first, first + 1];
    return {
      name: `digits ${first}-${first + 1}`,
      classes,
      train: tensors(classes.flatMap((d) => rows(d, 0, trainPerClass))),
      test: tensors(classes.flatMap((d) => rows(d, 800, testPerClass))),
    };
  });
}
