import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { adam, Trainer } from '@tensorloop/core';
import { beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { finetuneScheduler } from './finetune-scheduler.js';
import { formatSchedule, generateSchedule, weightNames } from './implicit.js';
import { boringData, boringModel, NAME, tempDir, weightValues } from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A small convnet with BatchNorm: conv (kernel, bias), bn (gamma, beta), dense (kernel, bias), out. */
function convnet(bottomBias = true): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        name: 'conv',
        inputShape: [6, 6, 1],
        filters: 2,
        kernelSize: 3,
        useBias: bottomBias,
      }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ name: 'dense', units: 4, activation: 'relu' }),
      tf.layers.dense({ name: 'out', units: 3, activation: 'softmax' }),
    ],
  });
}

describe('generateSchedule (the implicit schedule)', () => {
  test('the boring model: 4 phases of two, in reverse model order (FTS test_fts_gen_ft_schedule)', () => {
    const schedule = generateSchedule(boringModel());
    expect(Object.keys(schedule)).toEqual(['0', '1', '2', '3']);
    expect(schedule[0]!.params).toEqual(['l3/bias', 'l3/kernel']);
    expect(schedule[1]!.params).toEqual(['l2/bias', 'l2/kernel']);
    expect(schedule[3]!.params).toEqual(['l0/bias', 'l0/kernel']);
  });

  test('an odd number of weights: the bottom-most one alone in the last phase; BatchNorm gamma and beta pair blindly', () => {
    const model = convnet(false);
    const schedule = generateSchedule(model);
    expect(Object.values(schedule).map((p) => p.params)).toEqual([
      ['out/bias', 'out/kernel'],
      ['dense/bias', 'dense/kernel'],
      ['bn/beta', 'bn/gamma'],
      ['conv/kernel'],
    ]);
  });

  test("weight names are the trainer's (`trainer.parameters()` order), frozen layers included, flags restored", () => {
    const model = convnet();
    model.getLayer('dense').trainable = false;
    const names = weightNames(model);
    expect(model.getLayer('dense').trainable).toBe(false);
    expect(model.trainableWeights.map((w) => w.originalName)).not.toContain('dense/kernel');
    const trainer = new Trainer({ model, loss: 'categoricalCrossentropy', optimizer: adam(), log: 'silent' });
    expect(names).toEqual(trainer.parameters().map((p) => p.name));
    expect(names).not.toContain('bn/moving_mean');
  });

  test('formatSchedule writes YAML that parses back to the schedule', () => {
    const schedule = generateSchedule(boringModel());
    expect(parse(formatSchedule(schedule))).toEqual(schedule);
  });
});

describe('genScheduleOnly', () => {
  test('writes <modelName>_ft_schedule.yaml and trains nothing', async () => {
    const dir = tempDir();
    const model = boringModel();
    const before = weightValues(model);
    const trainer = new Trainer({
      model,
      loss: 'meanSquaredError',
      optimizer: adam(),
      plugins: [finetuneScheduler({ genScheduleOnly: true, logDir: dir })],
      log: 'silent',
    });
    const result = await trainer.fit(boringData(), { epochs: 3, batchSize: 8 });
    expect(result.history).toEqual([]);
    expect(trainer.time.step).toBe(0);
    expect(weightValues(model)).toEqual(before);
    const file = join(dir, `${model.name}_ft_schedule.yaml`);
    expect(result.stopReason).toMatchObject({
      by: NAME,
      message: `genScheduleOnly: wrote the implicit schedule to ${file} (4 phases); nothing was trained.`,
    });
    expect(parse(readFileSync(file, 'utf8'))).toEqual(generateSchedule(model));
  });
});
