// Shared fixtures for this package's tests (not part of the public surface).
import * as tf from '@tensorflow/tfjs';
import { mnistTensors } from '@tensorloop/test-fixtures';
import { definePlugin, type Plugin } from './plugin.js';

export { classificationData, maxAbsDiff, weightsOf } from '@tensorloop/test-fixtures';

/** A small classifier with deterministic weights (seeded initializers). */
export function tinyClassifier(
  options: { inputs?: number; classes?: number; hidden?: number; seed?: number } = {},
) {
  const { inputs = 4, classes = 3, hidden = 8, seed = 1 } = options;
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: hidden,
        inputShape: [inputs],
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        biasInitializer: tf.initializers.randomNormal({ seed: seed + 1, stddev: 0.1 }),
      }),
      tf.layers.dense({
        units: classes,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
      }),
    ],
  });
}

/** A second model with the same architecture and a copy of the first one's weights. */
export function cloneModel(model: tf.LayersModel, build: () => tf.LayersModel): tf.LayersModel {
  const copy = build();
  copy.setWeights(model.getWeights().map((w) => w.clone()));
  return copy;
}

/** A plugin that records every lifecycle event it sees, as `hook:detail` strings. */
export function recorder(name: string, log: string[]): Plugin {
  return definePlugin({
    name,
    onFitStart: () => void log.push(`${name}:fitStart`),
    onEpochStart: (_c, e) => void log.push(`${name}:epochStart:${e.epoch}`),
    onEpochEnd: (_c, e) => void log.push(`${name}:epochEnd:${e.epoch}`),
    onFitEnd: (_c, e) => void log.push(`${name}:fitEnd:${e.completed}`),
  });
}

/** `perClass` real digits of each class from the `mnist` package, in class order. */
export async function mnistSubset(perClass: number, offset = 0): Promise<{ x: tf.Tensor2D; y: tf.Tensor2D }> {
  return mnistTensors(perClass, offset);
}
