// Fixtures for this package's tests (not part of the public surface).
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { definePlugin, type Plugin, type TensorloopOptimizer } from '@tensorloop/core';

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

/** Deterministic classification data (a fixed linear rule on seeded inputs). */
export function classificationData(
  n: number,
  inputs = 4,
  classes = 3,
  seed = 7,
): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const x = tf.randomNormal([n, inputs], 0, 1, 'float32', seed) as tf.Tensor2D;
    const w = tf.randomNormal([inputs, classes], 0, 1, 'float32', seed + 1);
    const labels = tf.argMax(tf.matMul(x, w), 1);
    return { x, y: tf.oneHot(labels, classes).toFloat() as tf.Tensor2D };
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

interface MnistDigit {
  set(start: number, end: number): { input: number[]; output: number[] }[];
}

/** `perClass` real MNIST digits of each class, from `offset` (deterministic). */
export function mnistTensors(perClass: number, offset = 0): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const mnist = createRequire(import.meta.url)('mnist') as Record<string, MnistDigit>;
  const rows: { input: number[]; output: number[] }[] = [];
  for (let d = 0; d < 10; d++) rows.push(...mnist[d]!.set(offset, offset + perClass - 1));
  return { x: tf.tensor2d(rows.map((r) => r.input)), y: tf.tensor2d(rows.map((r) => r.output)) };
}

export function weightsOf(model: tf.LayersModel): number[][] {
  return model.getWeights().map((w) => Array.from(w.dataSync()));
}

export function maxAbsDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((arr, i) => {
    arr.forEach((v, j) => {
      m = Math.max(m, Math.abs(v - b[i]![j]!));
    });
  });
  return m;
}
