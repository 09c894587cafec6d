import * as tf from '@tensorflow/tfjs';
import { mnistTensors } from '../mnist.js';

/** A small MNIST classifier with BatchNorm; named layers keep weight names equal across processes. */
export function mnistMlp(seed: number): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'hidden',
        inputShape: [784],
        units: 32,
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.activation({ name: 'relu', activation: 'relu' }),
      tf.layers.dense({
        name: 'out',
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

/** 400 training and 100 validation digits, real MNIST. */
export function mnistSplit(): {
  train: { x: tf.Tensor2D; y: tf.Tensor2D };
  val: { x: tf.Tensor2D; y: tf.Tensor2D };
} {
  return { train: mnistTensors(40), val: mnistTensors(10, 500) };
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
