import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { TensorloopError } from './errors.js';
import { definePlugin, type LogEntry } from './plugin.js';
import { classificationData, tinyClassifier } from './test-helpers.js';
import { Trainer } from './trainer.js';

declare module './plugin.js' {
  interface PluginApiMap {
    'ctx-test:counter': { count(): number };
  }
  interface HookEvents {
    'ctx-test:phase': { phase: number };
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('trainer context', () => {
  test('lifecycle events arrive in order, each with its typed event object', async () => {
    const events: string[] = [];
    const p = definePlugin({
      name: 'order',
      onFitStart: (_c, e) =>
        void events.push(`fitStart(epochs=${e.epochs},steps=${e.stepsPerEpoch},val=${e.hasValidation})`),
      onEpochStart: (_c, e) => void events.push(`epochStart(${e.epoch})`),
      onBatchStart: (_c, e) => void events.push(`batchStart(${e.batch},${e.size})`),
      onBatchEnd: (_c, e) => void events.push(`batchEnd(${e.batch},stepped=${e.stepped})`),
      onValidationStart: (_c, e) => void events.push(`valStart(${e.epoch})`),
      onValidationEnd: (_c, e) => void events.push(`valEnd(${Object.keys(e.logs).join('+')})`),
      onEpochEnd: (_c, e) => void events.push(`epochEnd(${e.epoch})`),
      onFitEnd: (_c, e) => void events.push(`fitEnd(completed=${e.completed},epochs=${e.history.length})`),
      onEvaluateStart: () => void events.push('evalStart'),
      onEvaluateEnd: (_c, e) => void events.push(`evalEnd(${Object.keys(e.logs).join('+')})`),
    });
    const data = classificationData(15);
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [p],
      log: 'silent',
    });
    await t.fit(data, { epochs: 1, batchSize: 10, validationData: data });
    await t.evaluate(data);
    expect(events).toEqual([
      'fitStart(epochs=1,steps=2,val=true)',
      'epochStart(0)',
      'batchStart(0,10)',
      'batchEnd(0,stepped=true)',
      'batchStart(1,5)',
      'batchEnd(1,stepped=true)',
      'valStart(0)',
      'valEnd(val_loss)',
      'epochEnd(0)',
      'fitEnd(completed=true,epochs=1)',
      'evalStart',
      'evalEnd(loss)',
    ]);
  });

  test('ctx.plugin returns another plugin API, or throws a coded error naming what is registered', async () => {
    let n = 0;
    const counter = definePlugin({
      name: 'ctx-test:counter',
      api: { count: () => n },
      onBatchEnd: () => {
        n += 1;
      },
    });
    const results: number[] = [];
    let missing: unknown;
    const user = definePlugin({
      name: 'user',
      dependencies: ['ctx-test:counter'],
      onEpochEnd: (ctx) => {
        results.push(ctx.plugin('ctx-test:counter').count());
        try {
          (ctx.plugin as (name: string) => unknown)('@tensorloop/nope');
        } catch (e) {
          missing = e;
        }
      },
    });
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [user, counter],
      log: 'silent',
    });
    await t.fit(classificationData(20), { epochs: 2, batchSize: 10 });
    expect(results).toEqual([2, 4]);
    expect(missing).toBeInstanceOf(TensorloopError);
    expect((missing as TensorloopError).code).toBe('TL_PLUGIN_NOT_FOUND');
    expect((missing as TensorloopError).message).toContain('registered: ctx-test:counter, user');
  });

  test('custom namespaced events reach their handlers in plugin order; core events cannot be emitted', async () => {
    const got: string[] = [];
    let refused: unknown;
    const emitter = definePlugin({
      name: 'emitter',
      onEpochEnd: async (ctx, e) => {
        await ctx.emit('ctx-test:phase', { phase: e.epoch });
        try {
          await (ctx.emit as (n: string, e: unknown) => Promise<void>)('onFitEnd', {});
        } catch (err) {
          refused = err;
        }
      },
    });
    const l1 = definePlugin({ name: 'l1', 'ctx-test:phase': (_c, e) => void got.push(`l1:${e.phase}`) });
    const l2 = definePlugin({
      name: 'l2',
      enforce: 'pre',
      'ctx-test:phase': (_c, e) => void got.push(`l2:${e.phase}`),
    });
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [emitter, l1, l2],
      log: 'silent',
    });
    await t.fit(classificationData(10), { epochs: 2, batchSize: 10 });
    expect(got).toEqual(['l2:0', 'l1:0', 'l2:1', 'l1:1']);
    expect((refused as TensorloopError).code).toBe('TL_EVENT_INVALID');
  });

  test('per-hook order refines the plugin order for that hook only', async () => {
    const got: string[] = [];
    const a = definePlugin({
      name: 'a',
      onEpochEnd: () => void got.push('a.end'),
      onEpochStart: () => void got.push('a.start'),
    });
    const b = definePlugin({
      name: 'b',
      onEpochEnd: { order: 'pre', handler: () => void got.push('b.end') },
      onEpochStart: () => void got.push('b.start'),
    });
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [a, b],
      log: 'silent',
    });
    await t.fit(classificationData(10), { epochs: 1, batchSize: 10 });
    expect(got).toEqual(['a.start', 'b.start', 'b.end', 'a.end']);
    expect(t.describe()).toContain('onEpochEnd: b → a');
  });

  test('the logger prefixes the plugin name and reaches subscribed sinks', async () => {
    const entries: LogEntry[] = [];
    const talker = definePlugin({
      name: 'talker',
      onEpochEnd: (ctx) => ctx.logger.info(`epoch ${ctx.time.epoch} done`),
    });
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [talker],
      log: (e) => entries.push(e),
    });
    await t.fit(classificationData(10), { epochs: 2, batchSize: 10, verbose: 0 }); // no epoch lines
    expect(entries.map((e) => `${e.source}: ${e.message}`)).toEqual([
      'talker: epoch 0 done',
      'talker: epoch 1 done',
    ]);
    expect(entries[1]!.time.epoch).toBe(1);
  });

  test('describe() prints the resolved plan', async () => {
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: tf.train.adam(),
      plugins: [
        definePlugin({ name: 'late', enforce: 'post', onEpochEnd: () => {} }),
        definePlugin({
          name: 'early',
          onEpochEnd: () => {},
          hparams: [{ name: 'lr', mode: 'multiply' }],
          describe: () => ['lr × 0.5 after epoch 3'],
        }),
      ],
      log: 'silent',
    });
    await t.fit(classificationData(30), { epochs: 2, batchSize: 8 });
    const text = t.describe();
    expect(text).toContain('loss: categoricalCrossentropy; metrics: accuracy');
    expect(text).toContain('1. early');
    expect(text).toContain('2. late (enforce: post)');
    expect(text).toContain('onEpochEnd: early → late');
    expect(text).toContain('2 epochs × 4 batches of 8');
    expect(text).toContain('67 parameters');
    expect(text).toContain('       lr × 0.5 after epoch 3');
    expect(text).toContain('  lr: multiply by early');
  });
});
