// Fixtures for this package's tests (not part of the public surface).
import * as tf from '@tensorflow/tfjs';
import { definePlugin, type Plugin, type TensorloopOptimizer } from '@tensorloop/core';

export { classificationData, maxAbsDiff, mnistTensors } from '@tensorloop/test-fixtures';

/** A small classifier with deterministic weights and named layers. */
export function tinyClassifier(seed = 1, inputs = 4, classes = 3): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'hidden',
        units: 8,
        inputShape: [inputs],
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({
        name: 'head',
        units: classes,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

/**
 * Records, after every optimizer step, the hyperparameters the optimizer actually used (its param
 * groups' live values for a tensorloop optimizer, the store's for a tfjs one).
 */
export function stepRecorder(
  names: readonly string[],
  group = 'default',
): { plugin: Plugin; rows: Record<string, number>[] } {
  const rows: Record<string, number>[] = [];
  const plugin = definePlugin({
    name: 'test:recorder',
    afterOptimizerStep(ctx) {
      const opt = ctx.optimizer as Partial<TensorloopOptimizer>;
      const live = opt.groups?.find((g) => g.name === group)?.hparams;
      const row: Record<string, number> = { step: ctx.time.step };
      for (const n of names) row[n] = live?.[n] ?? ctx.hparams.get(n, { group });
      rows.push(row);
    },
  });
  return { plugin, rows };
}

export function weightsOf(model: tf.LayersModel): number[][] {
  return model.getWeights().map((w) => Array.from(w.dataSync()));
}
