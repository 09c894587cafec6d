import type * as tf from '@tensorflow/tfjs';
import { mnistMlp as kitMlp, mnistDigits } from '@tensorloop/testkit';

/** A small MNIST classifier with BatchNorm; named layers keep weight names equal across processes. */
export const mnistMlp = (seed: number): tf.LayersModel => kitMlp({ seed });

/** 400 training and 100 validation digits, real MNIST. */
export function mnistSplit(): {
  train: { x: tf.Tensor2D; y: tf.Tensor2D };
  val: { x: tf.Tensor2D; y: tf.Tensor2D };
} {
  return { train: mnistDigits(40), val: mnistDigits(10, 500) };
}

/** A decision log a scenario's plugins write to and the harness drains. */
export function decisionLog(): { push(d: unknown): void; take(): unknown[] } {
  let items: unknown[] = [];
  return {
    push: (d) => void items.push(d),
    take: () => {
      const out = items;
      items = [];
      return out;
    },
  };
}
