import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { definePlugin } from './plugin.js';
import { classificationData, tinyClassifier } from './test-helpers.js';
import type { Time } from './time.js';
import { Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('time', () => {
  test('global counters continue across fit() calls; fraction reaches 1', async () => {
    const { x, y } = classificationData(50);
    const seen: Time[] = [];
    const fractions: number[] = [];
    const watch = definePlugin({
      name: 'watch',
      onEpochEnd: (ctx) => void seen.push({ ...ctx.time }),
      onBatchEnd: (ctx) => void fractions.push(ctx.time.fraction),
    });
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [watch],
      log: 'silent',
    });
    const first = await trainer.fit({ x, y }, { epochs: 2, batchSize: 16 }); // 4 batches per epoch (16,16,16,2)
    const second = await trainer.fit({ x, y }, { epochs: 3, batchSize: 16 });

    expect(trainer.history.map((h) => h.epoch)).toEqual([0, 1, 2, 3, 4]);
    expect(first.history.map((h) => h.epoch)).toEqual([0, 1]);
    expect(second.history.map((h) => h.epoch)).toEqual([2, 3, 4]);
    expect(second.history.map((h) => h.fitIndex)).toEqual([1, 1, 1]);
    expect(trainer.time.step).toBe(5 * 4);
    expect(trainer.time.batch).toBe(5 * 4);
    expect(trainer.time.sample).toBe(5 * 50);
    expect(trainer.time.epoch).toBe(5);
    expect(first.time.fraction).toBe(1);
    expect(second.time.fraction).toBe(1);
    expect(second.time.fitStep).toBe(12);
    expect(seen.map((t) => [t.epoch, t.fitIndex, t.fitEpoch])).toEqual([
      [0, 0, 0],
      [1, 0, 1],
      [2, 1, 0],
      [3, 1, 1],
      [4, 1, 2],
    ]);
    // fraction moves by one batch out of the fit's planned batches
    expect(fractions.slice(0, 8)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((k) => k / 8));
  });

  test('a fit that stops early does not claim fraction 1', async () => {
    const { x, y } = classificationData(32);
    const stopper = definePlugin({
      name: 'stopper',
      onEpochEnd: (ctx) => (ctx.time.epoch === 0 ? { signal: 'stop', reason: 'test' } : undefined),
    });
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [stopper],
      log: 'silent',
    });
    const result = await trainer.fit({ x, y }, { epochs: 4, batchSize: 8 });
    expect(result.history).toHaveLength(1);
    expect(result.time.fraction).toBeCloseTo(0.25, 10);
  });
});
