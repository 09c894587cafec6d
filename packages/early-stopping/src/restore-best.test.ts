import * as tf from '@tensorflow/tfjs';
import { definePlugin, type LogEntry, type Plugin, stop, Trainer } from '@tensorloop/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type EarlyStoppingOptions, earlyStopping } from './index.js';
import { maxDiff, mnistModel, mnistTensors, script, weightRecorder, weightValues } from './test-helpers.js';

let train: { x: tf.Tensor2D; y: tf.Tensor2D };
let val: { x: tf.Tensor2D; y: tf.Tensor2D };

beforeAll(async () => {
  await tf.setBackend('cpu');
  train = mnistTensors(20);
  val = mnistTensors(10, 500);
});
afterAll(() => tf.dispose([train.x, train.y, val.x, val.y]));

/**
 * Real MNIST training; `probe` is a scripted log key so that the best epoch is known in advance,
 * while the weights are those of real training.
 */
async function run(probe: number[], options: EarlyStoppingOptions, epochs: number, extra: Plugin[] = []) {
  const byEpoch = new Map<number, Map<string, Float32Array>>();
  const entries: LogEntry[] = [];
  // `probe` says nothing of its direction: lower is better here.
  const es = earlyStopping({ monitor: 'probe', mode: 'min', restoreBestWeights: true, ...options });
  const trainer = new Trainer({
    model: mnistModel(),
    loss: 'categoricalCrossentropy',
    optimizer: tf.train.sgd(0.2), // no optimizer slots: every tensor left after the fit is the model's
    plugins: [script({ probe }), es, ...extra, weightRecorder(byEpoch)],
    log: (e) => void entries.push(e),
  });
  const before = tf.memory().numTensors;
  const outcome = await trainer.fit(train, { epochs, batchSize: 50, validationData: val }).then(
    (result) => ({ result, error: undefined }),
    (error: unknown) => ({ result: undefined, error }),
  );
  return {
    ...outcome,
    trainer,
    es,
    byEpoch,
    leaked: tf.memory().numTensors - before,
    final: weightValues(trainer.model),
    messages: entries.filter((e) => e.source === '@tensorloop/early-stopping').map((e) => e.message),
  };
}

/** The restored model's validation loss equals the best epoch's, as logged during training. */
async function expectBestEpochWeights(r: Awaited<ReturnType<typeof run>>, best: number, last: number) {
  expect(maxDiff(r.final, r.byEpoch.get(best)!)).toBe(0);
  expect(maxDiff(r.final, r.byEpoch.get(last)!)).toBeGreaterThan(1e-3);
  const { loss } = await r.trainer.evaluate(val, { batchSize: 50 });
  expect(loss).toBeCloseTo(r.trainer.history[best]!.logs.val_loss!, 5);
}

describe('restoreBestWeights on a real model, whatever ends the fit', () => {
  test('its own early stop', async () => {
    const r = await run([3, 1, 2, 2.5, 0.1], { patience: 2 }, 5);
    expect(r.result?.stopReason?.by).toBe('@tensorloop/early-stopping');
    expect(r.result?.history).toHaveLength(4);
    await expectBestEpochWeights(r, 1, 3);
    expect(r.messages.at(-1)).toBe('restored the weights of epoch 1, the best (probe 1)');
    expect(r.leaked).toBe(0);
  });

  test("another plugin's stop (the Keras #12511 case)", async () => {
    const stopper = definePlugin({
      name: 'test:stopper',
      onEpochEnd: (_ctx, e) => (e.epoch === 2 ? stop('enough') : undefined),
    });
    const r = await run([3, 1, 2, 2.5, 0.1], { patience: 10 }, 5, [stopper]);
    expect(r.result?.stopReason?.by).toBe('test:stopper');
    expect(r.result?.history).toHaveLength(3);
    await expectBestEpochWeights(r, 1, 2);
    expect(r.leaked).toBe(0);
  });

  test('reaching `epochs`', async () => {
    const r = await run([3, 1, 2], { patience: 10 }, 3);
    expect(r.result?.stopReason).toBeUndefined();
    await expectBestEpochWeights(r, 1, 2);
    expect(r.leaked).toBe(0);
  });

  test('other plugins see the best weights in their onFitEnd', async () => {
    let seen: Map<string, Float32Array> | undefined;
    const exporter = definePlugin({
      name: 'test:export',
      onFitEnd: (ctx) => {
        seen = weightValues(ctx.model);
      },
    });
    const r = await run([3, 1, 2], { patience: 10 }, 3, [exporter]);
    expect(maxDiff(seen!, r.byEpoch.get(1)!)).toBe(0);
  });

  test('the last epoch being the best keeps its weights', async () => {
    const r = await run([3, 2, 1], { patience: 10 }, 3);
    expect(maxDiff(r.final, r.byEpoch.get(2)!)).toBe(0);
    expect(r.messages.at(-1)).toBe('the last epoch (2) was the best: its weights are kept');
    expect(r.leaked).toBe(0);
  });

  test('a fit that fails keeps its last weights (nothing is restored) and leaks nothing', async () => {
    const failing = definePlugin({
      name: 'test:fail',
      onEpochEnd: (_ctx, e) => {
        if (e.epoch === 2) throw new Error('boom');
      },
    });
    const r = await run([3, 1, 2], { patience: 10 }, 4, [failing]);
    expect((r.error as Error).message).toContain('boom');
    expect(maxDiff(r.final, r.byEpoch.get(1)!)).toBeGreaterThan(1e-3);
    expect(r.leaked).toBe(0);
  });

  test('without restoreBestWeights the model keeps its last weights', async () => {
    const r = await run([3, 1, 2, 2.5], { patience: 2, restoreBestWeights: false }, 4);
    expect(r.result?.history).toHaveLength(4);
    expect(maxDiff(r.final, r.byEpoch.get(3)!)).toBe(0);
    expect(r.leaked).toBe(0);
  });

  test('persistAcrossFits keeps one device copy of the best weights between fits', async () => {
    const r = await run([3, 1, 2, 2.5], { patience: 10, persistAcrossFits: true }, 2);
    expect(r.es.api!.bestWeightsEpoch).toBe(1);
    expect(r.leaked).toBe(r.trainer.model.weights.length);
    // The second fit never beats epoch 1: the end of the second fit goes back to it.
    const second = await r.trainer.fit(train, { epochs: 2, batchSize: 50 });
    expect(second.history.map((h) => h.epoch)).toEqual([2, 3]);
    expect(maxDiff(weightValues(r.trainer.model), r.byEpoch.get(1)!)).toBe(0);
    expect(maxDiff(weightValues(r.trainer.model), r.byEpoch.get(3)!)).toBeGreaterThan(1e-3);
  });
});
