import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkpoint } from '../checkpoint/checkpoint-plugin.js';
import { isTensorloopError } from '../errors.js';
import type { LossFn } from '../losses.js';
import { definePlugin, type LogEntry, type Plugin } from '../plugin.js';
import { skipBatch } from '../signals.js';
import { classificationData, maxAbsDiff, tinyClassifier, weightsOf } from '../test-helpers.js';
import { Trainer } from '../trainer.js';
import type { NonFiniteOption } from './non-finite.js';

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'tl-nonfinite-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const data = () => classificationData(64);
const crossentropy: LossFn = (t, p) => tf.metrics.categoricalCrossentropy(t, p);

/** Cross-entropy, NaN at global batch `at` (a loss that goes bad mid-training). */
const nanLossAt =
  (at: number): LossFn =>
  (t, p, ctx) => {
    const loss = crossentropy(t, p, ctx);
    return ctx.time.batch === at ? tf.mul(loss, Number.NaN) : loss;
  };

/** Makes the gradient of the `index`-th trainable weight infinite at step `at` (the loss stays finite). */
const infiniteGradientAt = (index: number, at: number): Plugin =>
  definePlugin({
    name: 'bad-gradient',
    transformGradients(ctx, grads) {
      if (ctx.time.step !== at) return grads;
      return new Map(
        [...grads].map(([n, g], i) => [n, i === index ? tf.add(g, Number.POSITIVE_INFINITY) : g]),
      );
    },
  });

function trainer(options: {
  loss?: LossFn;
  onNonFinite?: NonFiniteOption;
  plugins?: Plugin[];
  log?: (e: LogEntry) => void;
  logEvery?: number;
  stepGate?: 'host' | 'device';
}) {
  return new Trainer({
    model: tinyClassifier(),
    loss: options.loss ?? crossentropy,
    optimizer: tf.train.sgd(0.1),
    plugins: options.plugins ?? [],
    log: options.log ?? 'silent',
    seed: 3,
    ...(options.onNonFinite ? { onNonFinite: options.onNonFinite } : {}),
    ...(options.logEvery ? { logEvery: options.logEvery } : {}),
    ...(options.stepGate ? { stepGate: options.stepGate } : {}),
  });
}

describe('onNonFinite', () => {
  test("'stop' (default): the fit ends at the read-back after a NaN loss, naming the step and the loss", async () => {
    const { x, y } = data();
    const ended: unknown[] = [];
    const t = trainer({
      loss: nanLossAt(10),
      plugins: [definePlugin({ name: 'watcher', onFitEnd: (_c, e) => void ended.push(e.stopReason) })],
    });
    // 8 batches an epoch: step 10 is in epoch 1; the epoch's read-back finds it.
    const result = await t.fit({ x, y }, { epochs: 4, batchSize: 8, shuffle: false });
    expect(result.stopReason?.by).toBe('trainer');
    expect(result.stopReason?.message).toBe(
      'the loss was NaN or infinite at epoch 1, step 10, batch 2 of the epoch',
    );
    expect(ended).toEqual([result.stopReason]);
    // The epoch with the bad step ran to its end (no read-back before it); nothing after it.
    expect(t.time.epoch).toBe(2);
    expect(t.history.map((h) => h.epoch)).toEqual([0, 1]);
    tf.dispose([x, y]);
  });

  test('with logEvery the stop comes at the first batch read after the bad step', async () => {
    const { x, y } = data();
    const batches: number[] = [];
    const t = trainer({
      loss: nanLossAt(10),
      logEvery: 4,
      plugins: [definePlugin({ name: 'b', onBatchEnd: (c) => void batches.push(c.time.batch) })],
    });
    const result = await t.fit({ x, y }, { epochs: 4, batchSize: 8, shuffle: false });
    expect(result.stopReason?.message).toMatch(/step 10,/);
    // Read-backs after batches 4, 8, 12: the one after batch 12 (0-based 11) finds step 10 and stops there.
    expect(batches.at(-1)).toBe(12);
    tf.dispose([x, y]);
  });

  test("'throw': TL_NON_FINITE names the first non-finite gradient by weight name; onFitEnd still runs, no tensor leaks", async () => {
    const { x, y } = data();
    const fitEnds: string[] = [];
    const t = trainer({
      onNonFinite: 'throw',
      plugins: [
        infiniteGradientAt(2, 5),
        definePlugin({ name: 'other', onFitEnd: (_c, e) => void fitEnds.push(String(e.error?.code)) }),
      ],
    });
    const target = t.trainableWeights[2]!.name;
    const before = tf.memory().numTensors;
    const error = await t.fit({ x, y }, { epochs: 2, batchSize: 8 }).catch((e: unknown) => e);
    expect(isTensorloopError(error, 'TL_NON_FINITE')).toBe(true);
    expect((error as Error).message).toContain(
      `the gradient of ${target} was NaN or infinite at epoch 0, step 5,`,
    );
    expect(fitEnds).toEqual(['TL_NON_FINITE']);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  for (const stepGate of ['host', 'device'] as const) {
    test(`'skip' (${stepGate} gate): a NaN step applies nothing — same weights as a twin that skipped that batch`, async () => {
      const { x, y } = data();
      const warnings: string[] = [];
      const skipping = trainer({
        loss: nanLossAt(6),
        onNonFinite: 'skip',
        stepGate,
        log: (e) => {
          if (e.level === 'warn') warnings.push(e.message);
        },
      });
      const twin = trainer({
        plugins: [
          definePlugin({
            name: 'skip-6',
            onBatchStart: (c) => (c.time.batch === 6 ? skipBatch('twin') : undefined),
          }),
        ],
      });
      const a = await skipping.fit({ x, y }, { epochs: 2, batchSize: 8, shuffle: false });
      await twin.fit({ x, y }, { epochs: 2, batchSize: 8, shuffle: false });
      expect(a.stopReason).toBeUndefined();
      expect(maxAbsDiff(weightsOf(skipping.model), weightsOf(twin.model))).toBe(0);
      expect(weightsOf(skipping.model).every((w) => w.every(Number.isFinite))).toBe(true);
      // The skipped step is not counted (15 of 16 batches stepped), as for the twin.
      expect(skipping.time.step).toBe(15);
      expect(twin.time.step).toBe(15);
      expect(warnings).toEqual([
        expect.stringMatching(/^skipped 1 optimizer step\(s\).*step 6,.*\(the loss\)/),
      ]);
      tf.dispose([x, y]);
    });
  }

  test('no per-step read-back: an epoch of 16 steps reads the device once (its logs)', async () => {
    const { x, y } = classificationData(128);
    const t = trainer({});
    await t.fit({ x, y }, { epochs: 1, batchSize: 8 }); // warm-up
    const proto = tf.Tensor.prototype as unknown as { data: () => Promise<unknown>; dataSync: () => unknown };
    const { data: read, dataSync: readSync } = proto;
    let reads = 0;
    proto.data = function (this: tf.Tensor) {
      reads++;
      return read.call(this);
    };
    proto.dataSync = function (this: tf.Tensor) {
      reads++;
      return readSync.call(this);
    };
    try {
      await t.fit({ x, y }, { epochs: 2, batchSize: 8 });
    } finally {
      proto.data = read;
      proto.dataSync = readSync;
    }
    // One read of the data check before training, then one per epoch.
    expect(reads).toBe(1 + 2);
    tf.dispose([x, y]);
  });

  test('a checkpoint after a non-finite step is not written: the last good one stays loadable and resumable', async () => {
    const { x, y } = data();
    const dir = join(root, 'ckpt');
    const warnings: string[] = [];
    const t = trainer({
      loss: nanLossAt(12),
      plugins: [checkpoint({ dir, everySteps: 5 })],
      log: (e) => {
        if (e.level === 'warn') warnings.push(e.message);
      },
    });
    const result = await t.fit({ x, y }, { epochs: 4, batchSize: 8, shuffle: false });
    expect(result.stopReason?.by).toBe('trainer');
    // Saves at steps 5 and 10 were written; the one at step 15 (after the NaN at 12) was not.
    expect(warnings).toEqual([expect.stringMatching(/^not saving a checkpoint: the loss was NaN.*step 12,/)]);
    // The refused save found the bad step: the fit stopped after that batch, not at the epoch end.
    expect(t.time.step).toBe(15);
    // last/ is step 10's checkpoint, finite, and a fresh trainer continues from it.
    const resumed = await Trainer.load(join(dir, 'last'), { loss: crossentropy, log: 'silent' });
    expect(resumed.time.step).toBe(10);
    const again = await resumed.fit({ x, y }, { epochs: 4, batchSize: 8, shuffle: false });
    expect(again.history.map((h) => h.epoch)).toEqual([0, 1, 2, 3]);
    expect(again.history.every((h) => Number.isFinite(h.logs.loss))).toBe(true);
    tf.dispose([x, y]);
  });

  test('option check', () => {
    expect(() => trainer({ onNonFinite: 'ignore' as never })).toThrow(
      /TL_OPTION_INVALID.*onNonFinite must be 'stop', 'skip' or 'throw'; got "ignore"/,
    );
  });
});
