// What the page and the worker share: the model, the plugins and the data of one training run.
import * as tf from '@tensorflow/tfjs';
import { adamw, type LogEntry, type Plugin, Trainer } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import { oneCycle } from '@tensorloop/lr-schedules';
import { mnistDigits } from './digits.js';

/** Plain data (it crosses to the worker): what a run trains with. */
export interface RunConfig {
  readonly epochs: number;
  readonly batchSize: number;
  readonly maxLr: number;
  readonly seed: number;
}

export const DEFAULT_RUN: RunConfig = { epochs: 8, batchSize: 32, maxLr: 5e-3, seed: 7 };

/** A dense classifier with seeded initializers and named layers: every page load builds the same one. */
export function digitModel(seed: number): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'hidden',
        inputShape: [784],
        units: 64,
        activation: 'relu',
        kernelInitializer: init(seed),
      }),
      tf.layers.dense({
        name: 'digits',
        units: 10,
        activation: 'softmax',
        kernelInitializer: init(seed + 1),
      }),
    ],
  });
}

export function digitTrainer(config: RunConfig, plugins: Plugin[], log: (entry: LogEntry) => void): Trainer {
  return new Trainer({
    model: digitModel(config.seed),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: adamw({ lr: config.maxLr / 25, weightDecay: 1e-4 }),
    plugins: [
      oneCycle({ maxLr: config.maxLr }),
      earlyStopping({ monitor: 'val_loss', patience: 3, restoreBestWeights: true }),
      ...plugins,
    ],
    seed: config.seed,
    log,
    yield: 'auto', // the default, spelled out: a macrotask every 16 ms keeps the page responsive
  });
}

export function digitData() {
  const { train, validation } = mnistDigits();
  return { data: train, validationData: validation };
}

/** Every weight, flattened in the model's order (what the test compares across a reload). */
export function flatWeights(model: tf.LayersModel): number[] {
  return model.weights.flatMap((w) => Array.from(w.read().dataSync()));
}
