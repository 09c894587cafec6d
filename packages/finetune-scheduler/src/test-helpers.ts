// Fixtures for this package's tests (not part of the public surface).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  definePlugin,
  type LogEntry,
  type Plugin,
  type StopReason,
  sgd,
  Trainer,
  type TrainerOptions,
} from '@tensorloop/core';
import { type FinetuneSchedulerApi, finetuneScheduler } from './finetune-scheduler.js';
import type { FinetuneSchedulerOptions } from './options.js';

export const NAME = '@tensorloop/finetune-scheduler';

/** A fresh temporary folder. */
export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'tl-fts-'));

/**
 * A plugin earlier in the order that writes scripted values into the epoch logs, by global epoch:
 * `{ val_loss: [1, 0.9, ...] }` (FTS's tests drive transitions with such scripted validation values).
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

/**
 * FTS's boring model: four dense layers (`l0`..`l3`, kernel and bias each: 8 weights, so the
 * implicit schedule has 4 phases), seeded.
 */
export function boringModel(seed = 1, units = 4): tf.LayersModel {
  return tf.sequential({
    layers: [0, 1, 2, 3].map((i) =>
      tf.layers.dense({
        name: `l${i}`,
        units: i === 3 ? 2 : units,
        ...(i === 0 ? { inputShape: [units] } : {}),
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }),
        biasInitializer: tf.initializers.randomNormal({ seed: seed + 10 + i, stddev: 0.1 }),
      }),
    ),
  });
}

/** 16 samples for the boring model: MSE towards ones. */
export function boringData(units = 4): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => ({
    x: tf.randomNormal([16, units], 0, 1, 'float32', 5) as tf.Tensor2D,
    y: tf.ones([16, 2]) as tf.Tensor2D,
  }));
}

/** FTS's fixture curve: val_loss improves until epoch 3, then rises every epoch. */
export const DIVERGING = [1.0, 0.9, 0.8, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1];

/** What an observer saw at each epoch start, after the scheduler ran. */
export interface EpochStartView {
  readonly epoch: number;
  readonly depth: number;
  readonly depthRemaining: number;
  readonly thawed: number;
  /** Param group names and their lr, in optimizer order (the default group last). */
  readonly groups: readonly [string, number][];
}

/** Records depth, thawed count and group lrs at every epoch start (after the scheduler's `pre` handler). */
export function epochStartObserver(views: EpochStartView[]): Plugin {
  return definePlugin({
    name: 'test:observer',
    after: [NAME],
    onEpochStart(ctx, e) {
      const fts = ctx.plugin(NAME);
      const opt = ctx.optimizer as unknown as { groups?: { name: string; hparams: { lr: number } }[] };
      views.push({
        epoch: e.epoch,
        depth: fts.currDepth,
        depthRemaining: fts.depthRemaining,
        thawed: ctx.parameters().filter((p) => p.trainable).length,
        groups: (opt.groups ?? []).map((g) => [g.name, g.hparams.lr]),
      });
    },
  });
}

export interface ScriptedRun {
  readonly trainer: Trainer;
  readonly api: FinetuneSchedulerApi;
  readonly views: EpochStartView[];
  /** Global epochs that ran. */
  readonly epochs: number;
  readonly stopReason: StopReason | undefined;
  readonly warnings: string[];
  readonly infos: string[];
}

/**
 * Fits the boring model with scripted validation values (`script`) and the scheduler; SGD lr 1e-3
 * (FTS's fixture optimizer) unless `trainer.optimizer` says otherwise.
 */
export async function runScripted(
  values: Record<string, readonly number[]>,
  options: FinetuneSchedulerOptions,
  epochs: number,
  trainer: Partial<TrainerOptions> = {},
): Promise<ScriptedRun> {
  const entries: LogEntry[] = [];
  const views: EpochStartView[] = [];
  const plugin = finetuneScheduler({ logDir: false, ...options });
  const t = new Trainer({
    model: boringModel(),
    loss: 'meanSquaredError',
    optimizer: sgd({ lr: 1e-3 }),
    log: (e) => void entries.push(e),
    ...trainer,
    plugins: [script(values), plugin, epochStartObserver(views), ...(trainer.plugins ?? [])],
  });
  const data = boringData();
  try {
    const result = await t.fit(data, { epochs, batchSize: 8 });
    const mine = entries.filter((e) => e.source === NAME);
    return {
      trainer: t,
      api: plugin.api!,
      views,
      epochs: result.history.length,
      stopReason: result.stopReason,
      warnings: mine.filter((e) => e.level === 'warn').map((e) => e.message),
      infos: mine.filter((e) => e.level === 'info').map((e) => e.message),
    };
  } finally {
    tf.dispose([data.x, data.y]);
  }
}

/** Host copies of every weight, by name. */
export function weightValues(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}

export const sameValues = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
