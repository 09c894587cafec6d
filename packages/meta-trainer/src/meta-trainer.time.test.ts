// Global time continues across stages; stage-relative counters restart (Lightning #5314, #5007).
import * as tf from '@tensorflow/tfjs';
import { definePlugin, isTensorloopError, type Time } from '@tensorloop/core';
import { beforeAll, describe, expect, test } from 'vitest';
import { MetaTrainer } from './meta-trainer.js';
import { tasks, tinyTrainer } from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type Seen = Pick<Time, 'epoch' | 'step' | 'stage' | 'stageEpoch' | 'stageStep' | 'fitIndex' | 'fitEpoch'>;
const watcher = (seen: Seen[]) =>
  definePlugin({
    name: 'watch',
    onEpochEnd: (ctx) => {
      const { epoch, step, stage, stageEpoch, stageStep, fitIndex, fitEpoch } = ctx.time;
      seen.push({ epoch, step, stage, stageEpoch, stageStep, fitIndex, fitEpoch });
    },
  });

// 20 samples in batches of 10: 2 steps per epoch. Stages of 2, 3 and 1 epochs.
const expected: Seen[] = [
  { epoch: 0, step: 2, stage: 0, stageEpoch: 0, stageStep: 2, fitIndex: 0, fitEpoch: 0 },
  { epoch: 1, step: 4, stage: 0, stageEpoch: 1, stageStep: 4, fitIndex: 0, fitEpoch: 1 },
  { epoch: 2, step: 6, stage: 1, stageEpoch: 0, stageStep: 2, fitIndex: 1, fitEpoch: 0 },
  { epoch: 3, step: 8, stage: 1, stageEpoch: 1, stageStep: 4, fitIndex: 1, fitEpoch: 1 },
  { epoch: 4, step: 10, stage: 1, stageEpoch: 2, stageStep: 6, fitIndex: 1, fitEpoch: 2 },
  { epoch: 5, step: 12, stage: 2, stageEpoch: 0, stageStep: 2, fitIndex: 2, fitEpoch: 0 },
];

describe('time across stages', () => {
  test('run(): global counters continue, stage counters restart, no epoch index repeats', async () => {
    const seen: Seen[] = [];
    const trainer = tinyTrainer({ plugins: [watcher(seen)] });
    const [a, b, c] = tasks();
    const meta = new MetaTrainer(trainer);
    const out = await meta.run([
      { name: 'A', data: a!, epochs: 2, batchSize: 10 },
      { name: 'B', data: b!, epochs: 3, batchSize: 10 },
      { name: 'C', data: c!, epochs: 1, batchSize: 10 },
    ]);
    expect(seen).toEqual(expected);
    expect(trainer.history.map((h) => h.epoch)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(out.stages.map((s) => [s.name, s.history.map((h) => h.epoch)])).toEqual([
      ['A', [0, 1]],
      ['B', [2, 3, 4]],
      ['C', [5]],
    ]);
    expect(out.time).toMatchObject({
      epoch: 6,
      step: 12,
      stage: 2,
      stageEpoch: 1,
      stageStep: 2,
      sample: 120,
    });
    expect(meta.stage).toBe(3);
  });

  test('imperative fit/tick gives the same counters; several fits in one stage share its counters', async () => {
    const seen: Seen[] = [];
    const trainer = tinyTrainer({ plugins: [watcher(seen)] });
    const [a, b, c] = tasks();
    const meta = new MetaTrainer(trainer);
    expect(meta.stage).toBe(0);
    await meta.fit(a!, { epochs: 2, batchSize: 10 });
    meta.tick(); // not awaited: the next call waits for it
    expect(meta.stage).toBe(1);
    await meta.fit(b!, { epochs: 2, batchSize: 10 });
    await meta.fit(b!, { epochs: 1, batchSize: 10 }); // same stage, second fit
    await meta.tick();
    await meta.fit(c!, { epochs: 1, batchSize: 10 });
    await meta.tick();
    expect(seen.map((s) => [s.epoch, s.stage, s.stageEpoch, s.stageStep])).toEqual(
      expected.map((s) => [s.epoch, s.stage, s.stageEpoch, s.stageStep]),
    );
    expect(seen.map((s) => s.fitIndex)).toEqual([0, 0, 1, 1, 2, 3]);
  });

  test('step-bounded and epoch-bounded stages count the same way', async () => {
    const seen: Seen[] = [];
    const trainer = tinyTrainer({ plugins: [watcher(seen)] });
    const [a, b] = tasks();
    await new MetaTrainer(trainer).run([
      { data: a!, epochs: 2, batchSize: 10, stepsPerEpoch: 1 },
      { data: b!, epochs: 1, batchSize: 10 },
    ]);
    expect(seen.map((s) => [s.epoch, s.step, s.stage, s.stageEpoch, s.stageStep])).toEqual([
      [0, 1, 0, 0, 1],
      [1, 2, 0, 1, 2],
      [2, 4, 1, 0, 2],
    ]);
  });

  test('a stage that would train nothing fails before the first stage trains', async () => {
    const trainer = tinyTrainer();
    const [a, b] = tasks();
    const meta = new MetaTrainer(trainer);
    const error = await meta
      .run([
        { name: 'first', data: a!, epochs: 1 },
        { name: 'empty', data: b!, epochs: 0 },
      ])
      .catch((e: unknown) => e);
    expect(isTensorloopError(error, 'TL_OPTION_INVALID')).toBe(true);
    expect((error as Error).message).toContain('Stage 1 ("empty") would train nothing: epochs is 0');
    expect(trainer.time.step).toBe(0);
    await expect(meta.fit(a!, { epochs: 0 })).rejects.toThrow(/Stage 0 \("stage 0"\) would train nothing/);
    await expect(meta.tick()).rejects.toThrow(/stage 0 has not trained: call meta\.fit/);
    expect(meta.stage).toBe(0);
  });
});
