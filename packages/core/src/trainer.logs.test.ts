import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { definePlugin, type Logs } from './plugin.js';
import { classificationData, tinyClassifier } from './test-helpers.js';
import { Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => {
  vi.restoreAllMocks();
});

function plainLoss(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): { loss: number; accuracy: number } {
  return tf.tidy(() => {
    const pred = model.predict(x) as tf.Tensor;
    return {
      loss: tf.mean(tf.metrics.categoricalCrossentropy(y, pred)).dataSync()[0]!,
      accuracy: tf.mean(tf.metrics.categoricalAccuracy(y, pred)).dataSync()[0]!,
    };
  });
}

describe('logs', () => {
  test('epoch loss and accuracy are sample-weighted means (lr 0 → equal to a plain tfjs computation)', async () => {
    const { x, y } = classificationData(70); // batches 32, 32, 6: weighting matters
    const model = tinyClassifier();
    const expected = plainLoss(model, x, y);
    const trainer = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy', 'mse'],
      optimizer: tf.train.sgd(0),
      log: 'silent',
    });
    const { history } = await trainer.fit({ x, y }, { epochs: 1, batchSize: 32, validationData: { x, y } });
    const logs = history[0]!.logs;
    expect(logs.loss).toBeCloseTo(expected.loss, 5);
    expect(logs.accuracy).toBeCloseTo(expected.accuracy, 6);
    expect(logs.val_loss).toBeCloseTo(expected.loss, 5);
    expect(logs.val_accuracy).toBeCloseTo(expected.accuracy, 6);
    const mse = tf.tidy(
      () => tf.mean(tf.metrics.meanSquaredError(y, model.predict(x) as tf.Tensor)).dataSync()[0]!,
    );
    expect(logs.mse).toBeCloseTo(mse, 6);
    expect(Object.keys(logs).sort()).toEqual([
      'accuracy',
      'loss',
      'lr',
      'mse',
      'smooth_loss',
      'val_accuracy',
      'val_loss',
      'val_mse',
    ]);
    expect(await trainer.evaluate({ x, y })).toEqual({
      loss: expect.closeTo(expected.loss, 5),
      accuracy: expect.closeTo(expected.accuracy, 6),
      mse: expect.closeTo(mse, 6),
    });
  });

  test('smooth_loss is the debiased moving average of batch losses', async () => {
    const { x, y } = classificationData(60);
    const batchLosses: number[] = [];
    const reader = definePlugin({
      name: 'reader',
      needsBatchLogs: true,
      onBatchEnd: (_c, e) => void batchLosses.push(e.logs!.loss!),
    });
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.5),
      plugins: [reader],
      smoothing: 0.9,
      log: 'silent',
    });
    const { history } = await trainer.fit({ x, y }, { epochs: 1, batchSize: 10 });
    let avg = 0;
    batchLosses.forEach((l) => {
      avg = 0.9 * avg + 0.1 * l;
    });
    expect(batchLosses).toHaveLength(6);
    expect(history[0]!.logs.smooth_loss).toBeCloseTo(avg / (1 - 0.9 ** 6), 5);
    const mean = batchLosses.reduce((a, b) => a + b, 0) / 6;
    expect(history[0]!.logs.loss).toBeCloseTo(mean, 5);
  });

  test('host read-backs: one per epoch (plus one per validation) unless a plugin needs batch values', async () => {
    const { x, y } = classificationData(64);
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: tf.train.sgd(0.1),
      log: 'silent',
    });
    await trainer.fit({ x, y }, { epochs: 1, batchSize: 8 }); // warm-up
    const data = vi.spyOn(tf.Tensor.prototype, 'data');
    const dataSync = vi.spyOn(tf.Tensor.prototype, 'dataSync');
    const arraySync = vi.spyOn(tf.Tensor.prototype, 'arraySync');
    await trainer.fit({ x, y }, { epochs: 3, batchSize: 8, validationData: { x, y }, checkData: false });
    expect(data.mock.calls.length + dataSync.mock.calls.length + arraySync.mock.calls.length).toBe(3 * 2);
  });

  test('batch logs: undefined by default, every batch with needsBatchLogs, every n with logEvery', async () => {
    const { x, y } = classificationData(40);
    const run = async (opts: { needs?: boolean; logEvery?: number }) => {
      const seen: (Logs | undefined)[] = [];
      const p = definePlugin({
        name: 'p',
        needsBatchLogs: opts.needs ?? false,
        onBatchEnd: (_c, e) => void seen.push(e.logs),
      });
      const trainer = new Trainer({
        model: tinyClassifier(),
        loss: 'categoricalCrossentropy',
        metrics: ['accuracy'],
        optimizer: tf.train.sgd(0.1),
        plugins: [p],
        log: 'silent',
        ...(opts.logEvery ? { logEvery: opts.logEvery } : {}),
      });
      await trainer.fit({ x, y }, { epochs: 1, batchSize: 10 });
      return seen.map((l) => (l ? Object.keys(l).sort().join(',') : '-'));
    };
    expect(await run({})).toEqual(['-', '-', '-', '-']);
    expect(await run({ needs: true })).toEqual([
      'accuracy,loss',
      'accuracy,loss',
      'accuracy,loss',
      'accuracy,loss',
    ]);
    expect(await run({ logEvery: 2 })).toEqual(['-', 'accuracy,loss', '-', 'accuracy,loss']);
  });

  test('plugins earlier in the order add keys to epoch logs; later plugins and history see them', async () => {
    const { x, y } = classificationData(20);
    const seenByLater: (number | undefined)[] = [];
    const adder = definePlugin({
      name: 'adder',
      onEpochEnd: (ctx, e) => {
        (e.logs as Logs).scripted = 10 + ctx.time.epoch;
      },
    });
    const reader = definePlugin({
      name: 'reader',
      onEpochEnd: (_c, e) => void seenByLater.push(e.logs.scripted),
    });
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [reader, adder].reverse(),
      log: 'silent',
    });
    const { history } = await trainer.fit({ x, y }, { epochs: 2, batchSize: 10 });
    expect(seenByLater).toEqual([10, 11]);
    expect(history.map((h) => h.logs.scripted)).toEqual([10, 11]);
  });

  test('user metric functions and { name, fn } metrics', async () => {
    const { x, y } = classificationData(30);
    const model = tinyClassifier();
    const meanPred = (_t: tf.Tensor, p: tf.Tensor) => tf.mean(p, -1);
    const trainer = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      metrics: [meanPred, { name: 'maxProb', fn: (_t, p) => tf.max(p, -1) }],
      optimizer: tf.train.sgd(0),
      log: 'silent',
    });
    const logs = await trainer.evaluate({ x, y }, { batchSize: 7 });
    const expectedMax = tf.tidy(() => tf.mean(tf.max(model.predict(x) as tf.Tensor, -1)).dataSync()[0]!);
    expect(logs.meanPred).toBeCloseTo(1 / 3, 6); // softmax rows sum to 1
    expect(logs.maxProb).toBeCloseTo(expectedMax, 6);
  });

  test('onBatchEnd: the device loss equals the host batch loss, is made only when read, and leaks nothing', async () => {
    const { x, y } = classificationData(40);
    const pairs: [number, number][] = [];
    const reader = definePlugin({
      name: 'reader',
      needsBatchLogs: true,
      onBatchEnd: async (_c, e) => {
        pairs.push([(await e.loss!.data())[0]!, e.logs!.loss!]);
      },
    });
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [reader],
      log: 'silent',
    });
    await trainer.fit({ x, y }, { epochs: 1, batchSize: 10 });
    const before = tf.memory().numTensors;
    await trainer.fit({ x, y }, { epochs: 2, batchSize: 10 });
    expect(tf.memory().numTensors).toBe(before);
    expect(pairs).toHaveLength(12);
    for (const [device, host] of pairs) expect(device).toBe(host);
  });
});
