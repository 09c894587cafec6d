import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { classificationData, tinyClassifier } from './test-helpers.js';
import { Clock } from './time.js';
import { Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Clock: the one owner of the counters', () => {
  test('fraction is batches of the planned total, or epochs while the epoch length is unknown', () => {
    const clock = new Clock();
    clock.startFit({ epochs: 2, batchesPerEpoch: undefined });
    clock.startEpoch(0);
    for (let b = 0; b < 3; b++) {
      clock.trained(10, true);
      clock.batchConsumed();
      clock.batchDone(b);
      expect(clock.time.fraction).toBe(0); // length unknown: moves per epoch
    }
    clock.learnPlan({ epochs: 2, batchesPerEpoch: 3 });
    clock.epochDone(0);
    expect(clock.time.fraction).toBe(0.5);
    clock.startEpoch(1);
    clock.trained(10, false);
    clock.batchConsumed();
    expect(clock.time.fraction).toBeCloseTo(4 / 6, 12);
    expect(clock.time).toMatchObject({
      epoch: 1,
      step: 3,
      batch: 4,
      sample: 40,
      fitIndex: 0,
      fitEpoch: 1,
      fitStep: 3,
    });
  });

  test('a new fit resets the fit counters only; stages reset the stage counters only', () => {
    const clock = new Clock();
    clock.startFit({ epochs: 1, batchesPerEpoch: 1 });
    clock.trained(5, true);
    clock.batchConsumed();
    clock.epochDone(0);
    clock.enterStage(1);
    expect(clock.time).toMatchObject({ stage: 1, stageEpoch: 0, stageStep: 0, epoch: 1, step: 1 });
    clock.startFit({ epochs: 1, batchesPerEpoch: 1 });
    clock.optimizerStepped();
    clock.epochDone(0);
    expect(clock.time).toMatchObject({
      fitIndex: 1,
      fitStep: 1,
      fitEpoch: 1,
      epoch: 2,
      step: 2,
      stageEpoch: 1,
      stageStep: 1,
    });
  });

  test('restoring a time saved before stage counters existed keeps their meaning', () => {
    const clock = new Clock();
    clock.restore({ epoch: 4, step: 40, stage: 0 } as never);
    expect([clock.time.stageEpoch, clock.time.stageStep]).toEqual([4, 40]);
  });
});

describe('trainer.enterStage', () => {
  test('time.stage and the stage-relative counters, across fits', async () => {
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      log: 'silent',
    });
    const data = classificationData(20);
    await t.fit(data, { epochs: 2, batchSize: 10 });
    expect(t.time).toMatchObject({ stage: 0, stageEpoch: 2, stageStep: 4 });
    t.enterStage(1);
    await t.fit(data, { epochs: 1, batchSize: 10 });
    expect(t.time).toMatchObject({ stage: 1, stageEpoch: 1, stageStep: 2, epoch: 3, step: 6 });
    expect(() => t.enterStage(-1)).toThrow(/stage must be an integer ≥ 0/);
  });
});
