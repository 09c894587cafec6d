import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

interface MnistDigit {
  readonly length: number;
  set(start: number, end: number): { input: number[]; output: number[] }[];
}

/**
 * `perClass` real digits of each class from the `mnist` package (10,000 digits, about 1,000 per
 * class), samples `offset … offset + perClass − 1` of every class, in class order: deterministic.
 */
export function mnistTensors(perClass: number, offset = 0): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const mnist = createRequire(import.meta.url)('mnist') as Record<string, MnistDigit>;
  const rows: { input: number[]; output: number[] }[] = [];
  for (let d = 0; d < 10; d++) rows.push(...mnist[d]!.set(offset, offset + perClass - 1));
  return { x: tf.tensor2d(rows.map((r) => r.input)), y: tf.tensor2d(rows.map((r) => r.output)) };
}
