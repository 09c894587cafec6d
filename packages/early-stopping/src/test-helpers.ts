// Fixtures for this package's tests (not part of the public surface).
import * as tf from '@tensorflow/tfjs';
import { definePlugin, type LogEntry, type Plugin, type StopReason, Trainer } from '@tensorloop/core';
import { type EarlyStoppingApi, earlyStopping } from './early-stopping.js';
import type { EarlyStoppingOptions } from './options.js';

export { mnistTensors } from '@tensorloop/test-fixtures';

/**
 * A plugin earlier in the order that writes scripted values into the epoch logs, by global epoch:
 * `{ val_loss: [1, 0.9, ...] }`.
 */
export function script(values: Record<string, readonly number[]>): Plugin {
  return definePlugin({
    name: 'test:script',
    logKeys: Object.keys(values),
    onEpochEnd(_ctx, event) {
      for (const [key, series] of Object.entries(values)) {
        const v = series[event.epoch];
        if (v !== undefined) event.logs[key] = v;
      }
    },
  });
}

/** A one-layer regression model on 8 samples: fast, real training, scripted monitor. */
export function tinyTrainer(plugins: Plugin[], entries: LogEntry[] = []): Trainer {
  return new Trainer({
    model: tf.sequential({
      layers: [
        tf.layers.dense({
          name: 'lin',
          units: 1,
          inputShape: [2],
          kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        }),
      ],
    }),
    loss: 'meanSquaredError',
    optimizer: tf.train.sgd(0.05),
    plugins,
    log: (e) => void entries.push(e),
  });
}

export function tinyData(): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const x = tf.tensor2d([0, 1, 1, 0, 1, 1, 2, 1, 1, 2, 0, 2, 2, 0, 3, 1], [8, 2]);
    return { x, y: x.sum(1, true).mul(0.5) as tf.Tensor2D };
  });
}

export interface ScriptedRun {
  /** Global epochs that ran. */
  readonly epochs: number;
  readonly stopReason: StopReason | undefined;
  /** Messages the plugin wrote (info and warn). */
  readonly messages: string[];
  readonly trainer: Trainer;
  /** What `ctx.plugin('@tensorloop/early-stopping')` returns. */
  readonly api: EarlyStoppingApi;
}

/** Fits a tiny model for `epochs` (default: the script's length) with a scripted `val_loss` (or other keys). */
export async function runScripted(
  values: Record<string, readonly number[]>,
  options: EarlyStoppingOptions,
  epochs = Math.max(...Object.values(values).map((v) => v.length)),
): Promise<ScriptedRun> {
  const entries: LogEntry[] = [];
  const plugin = earlyStopping(options);
  const trainer = tinyTrainer([script(values), plugin], entries);
  const data = tinyData();
  try {
    const result = await trainer.fit(data, { epochs, batchSize: 4 });
    return {
      epochs: result.history.length,
      stopReason: result.stopReason,
      messages: entries.filter((e) => e.source !== 'trainer').map((e) => e.message),
      trainer,
      api: plugin.api!,
    };
  } finally {
    tf.dispose([data.x, data.y]);
  }
}

/** A small MNIST classifier with named layers and seeded initializers. */
export function mnistModel(seed = 1): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'hidden',
        inputShape: [784],
        units: 16,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({
        name: 'out',
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

/** Host copies of every weight, by name. */
export function weightValues(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}

export function maxDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let max = 0;
  for (const [name, values] of a) {
    const other = b.get(name)!;
    values.forEach((v, i) => {
      max = Math.max(max, Math.abs(v - other[i]!));
    });
  }
  return max;
}

/** Records the weights at every epoch end (host copies, by global epoch). */
export function weightRecorder(byEpoch: Map<number, Map<string, Float32Array>>): Plugin {
  return definePlugin({
    name: 'test:weights',
    enforce: 'post',
    onEpochEnd: (ctx, e) => void byEpoch.set(e.epoch, weightValues(ctx.model)),
  });
}
