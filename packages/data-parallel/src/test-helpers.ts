import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '@tensorloop/backend-wasm';
import type { AnyOptimizer, LogEntry, Plugin } from '@tensorloop/core';
import { sgd, Trainer } from '@tensorloop/core';
import { mnistDigits } from '@tensorloop/testkit';

/** The main thread on wasm too, as a user of this package would run it (the reference runs there as well). */
export async function useWasm(): Promise<void> {
  await initWasmBackend();
}

/** 30 real MNIST digits per class (300 rows: with batch 64 the last batch has 44 rows). */
export function digits(perClass = 30): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return mnistDigits(perClass);
}

export function mlp(seed = 3): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'h1',
        inputShape: [784],
        units: 64,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({
        name: 'h2',
        units: 32,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
      tf.layers.dense({
        name: 'out',
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
      }),
    ],
  });
}

/** conv8-pool-conv16-pool-dense10 on 28×28×1 (the benchmark's CNN, narrower). */
export function cnn(seed = 5): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.reshape({ name: 'img', inputShape: [784], targetShape: [28, 28, 1] }),
      tf.layers.conv2d({
        name: 'c1',
        filters: 8,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.maxPooling2d({ name: 'p1', poolSize: 2 }),
      tf.layers.conv2d({
        name: 'c2',
        filters: 16,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
      tf.layers.maxPooling2d({ name: 'p2', poolSize: 2 }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({
        name: 'out',
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
      }),
    ],
  });
}

export interface RunOptions {
  readonly model: tf.LayersModel;
  readonly plugins?: readonly Plugin[];
  readonly optimizer?: AnyOptimizer;
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly validation?: boolean;
  readonly accumulateBatches?: number;
}

export interface Run {
  readonly trainer: Trainer;
  readonly history: { loss: number; accuracy: number; val_loss?: number }[];
  readonly weights: Float32Array[];
  readonly messages: LogEntry[];
  readonly stopReason: string | undefined;
}

export async function train(data: { x: tf.Tensor; y: tf.Tensor }, options: RunOptions): Promise<Run> {
  const messages: LogEntry[] = [];
  const trainer = new Trainer({
    model: options.model,
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: options.optimizer ?? sgd({ lr: 0.1 }),
    plugins: options.plugins ?? [],
    seed: 11,
    log: (entry) => messages.push(entry),
    ...(options.accumulateBatches ? { accumulateBatches: options.accumulateBatches } : {}),
  });
  const result = await trainer.fit(data, {
    epochs: options.epochs ?? 2,
    batchSize: options.batchSize ?? 64,
    ...(options.validation ? { validationSplit: 0.2 } : {}),
  });
  return {
    trainer,
    history: result.history.map((h) => h.logs as Run['history'][number]),
    weights: options.model.weights.map((w) => w.read().dataSync() as Float32Array),
    messages,
    stopReason: result.stopReason?.message,
  };
}

export function maxDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let worst = 0;
  a.forEach((arr, i) => {
    for (let j = 0; j < arr.length; j++) worst = Math.max(worst, Math.abs(arr[j]! - b[i]![j]!));
  });
  return worst;
}

/** A plugin that records `ctx.plugin('@tensorloop/data-parallel').threads` at every batch end. */
export function threadProbe(): Plugin & { seen: number[] } {
  const seen: number[] = [];
  return {
    name: 'thread-probe',
    seen,
    onBatchEnd(ctx) {
      seen.push(ctx.plugin('@tensorloop/data-parallel').threads);
    },
  };
}
