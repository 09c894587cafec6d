// Fixtures for this package's tests (not part of the public surface).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { type AnyOptimizer, definePlugin, type LogEntry, type Plugin, Trainer } from '@tensorloop/core';
import { classificationData } from '@tensorloop/test-fixtures';

export { classificationData, mnistTensors } from '@tensorloop/test-fixtures';

/** A fresh temporary folder; `cleanup()` removes it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tl-loggers-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export const readText = (path: string) => readFile(path, 'utf8');

/** A small classifier with named layers and seeded initializers (weight names match across trainers). */
export function smallModel(inputs = 4, classes = 3, seed = 1): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'hidden',
        inputShape: [inputs],
        units: 8,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({
        name: 'out',
        units: classes,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

export interface SmallRun {
  readonly trainer: Trainer;
  readonly entries: LogEntry[];
}

/** A trainer on `smallModel` with accuracy, a seeded shuffle and every message collected. */
export function smallTrainer(
  plugins: Plugin[],
  options: { optimizer?: AnyOptimizer; seed?: number } = {},
): SmallRun {
  const entries: LogEntry[] = [];
  const trainer = new Trainer({
    model: smallModel(),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: options.optimizer ?? tf.train.sgd(0.1),
    plugins,
    seed: options.seed ?? 5,
    log: (e) => void entries.push(e),
  });
  return { trainer, entries };
}

/** 48 training and 24 validation samples of a fixed linear rule: 6 batches of 8 per epoch. */
export function smallData(): {
  train: { x: tf.Tensor2D; y: tf.Tensor2D };
  val: { x: tf.Tensor2D; y: tf.Tensor2D };
  dispose: () => void;
} {
  const train = classificationData(48, 4, 3, 7);
  const val = classificationData(24, 4, 3, 70);
  return { train, val, dispose: () => tf.dispose([train.x, train.y, val.x, val.y]) };
}

/** Writes scripted values into the epoch logs by global epoch (runs before the loggers). */
export function script(values: Record<string, readonly (number | undefined)[]>): Plugin {
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

/** Throws from onEpochEnd at a global epoch: an exception in the middle of a fit (after the loggers wrote it). */
export function failAt(epoch: number): Plugin {
  return definePlugin({
    name: 'test:fail',
    enforce: 'post',
    after: [
      '@tensorloop/loggers:csv',
      '@tensorloop/loggers:jsonl',
      '@tensorloop/loggers:tensorboard',
      'checkpoint',
    ],
    onEpochEnd(_ctx, event) {
      if (event.epoch === epoch) throw new Error(`simulated crash after epoch ${epoch}`);
    },
  });
}

/** Rounds like a float32 `simple_value`. */
export const f32 = (v: number) => Math.fround(v);

export const warnings = (entries: readonly LogEntry[], source?: string) =>
  entries
    .filter((e) => e.level === 'warn' && (source === undefined || e.source === source))
    .map((e) => e.message);
