import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { checkpoint } from './checkpoint/checkpoint-plugin.js';
import { TensorloopError } from './errors.js';
import { checkMonitorKey, fitLogKeys } from './log-keys.js';
import { definePlugin, type FitStartEvent } from './plugin.js';
import { classificationData, tinyClassifier, weightsOf } from './test-helpers.js';
import { Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function caught(fn: () => unknown): TensorloopError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TensorloopError) return e;
    throw e;
  }
  throw new Error('expected a TensorloopError');
}

describe('fitLogKeys', () => {
  test('loss, metrics, smooth_loss, val_ twins with validation, hyperparameters, declared keys', () => {
    const keys = fitLogKeys({
      stepKeys: ['loss', 'accuracy'],
      hyperparamKeys: ['lr', 'lr/head'],
      hasValidation: true,
      plugins: [{ name: 'a', logKeys: ['loss_scale'] }, { name: 'b' }],
    });
    expect(keys).toEqual([
      'loss',
      'accuracy',
      'smooth_loss',
      'val_loss',
      'val_accuracy',
      'lr',
      'lr/head',
      'loss_scale',
    ]);
    expect(fitLogKeys({ stepKeys: ['loss'], hyperparamKeys: [], hasValidation: false, plugins: [] })).toEqual(
      ['loss', 'smooth_loss'],
    );
  });
});

describe('checkMonitorKey', () => {
  const keys = ['loss', 'accuracy', 'smooth_loss', 'val_loss', 'val_accuracy', 'lr'];
  test('a key the fit logs, and the tfjs aliases acc / val_acc, pass', () => {
    for (const k of ['val_loss', 'lr', 'acc', 'val_acc'])
      expect(() => checkMonitorKey(k, keys, 'p')).not.toThrow();
  });
  test('a typo names the closest key and every available one', () => {
    const e = caught(() => checkMonitorKey('val_los', keys, 'p'));
    expect(e.code).toBe('TL_MONITOR_UNKNOWN');
    expect(e.plugin).toBe('p');
    expect(e.message).toContain('did you mean "val_loss"?');
    expect(e.message).toContain('This fit logs: loss, accuracy, smooth_loss, val_loss, val_accuracy, lr.');
  });
  test('a val_ key without validation data says to pass validationData', () => {
    const e = caught(() => checkMonitorKey('val_loss', ['loss', 'smooth_loss'], 'p'));
    expect(e.message).toContain('pass validationData to fit()');
  });
});

describe('at fit start, before the first step', () => {
  test('the fit start event lists the keys the first epoch then logs', async () => {
    let seen: readonly string[] = [];
    const spy = definePlugin({
      name: 'spy',
      onFitStart: (_c, e: FitStartEvent) => {
        seen = e.logKeys;
      },
    });
    const data = classificationData(16);
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      metrics: ['accuracy'],
      plugins: [spy],
      log: 'silent',
    });
    const { history } = await t.fit(data, { epochs: 1, batchSize: 8, validationData: data });
    expect([...seen].sort()).toEqual(Object.keys(history[0]!.logs).sort());
    tf.dispose([data.x, data.y]);
  });

  test('checkpoint({ monitor }) with a typo fails before any step: weights unchanged, nothing saved', async () => {
    const data = classificationData(16);
    const model = tinyClassifier();
    const before = weightsOf(model);
    const t = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [checkpoint({ dir: '/nonexistent-dir-never-written', monitor: 'val_los' })],
      log: 'silent',
    });
    const e = await t.fit(data, { epochs: 3, batchSize: 8, validationData: data }).then(
      () => undefined,
      (error: unknown) => error as TensorloopError,
    );
    expect(e?.code).toBe('TL_MONITOR_UNKNOWN');
    expect(e?.message).toContain('did you mean "val_loss"?');
    expect(t.time.step).toBe(0);
    expect(weightsOf(model)).toEqual(before);
    tf.dispose([data.x, data.y]);
  });
});
