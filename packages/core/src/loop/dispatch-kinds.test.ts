import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { CORE_EVENT_NAMES, definePlugin, HOOK_KINDS } from '../plugin.js';
import { classificationData, tinyClassifier } from '../test-helpers.js';
import { Trainer } from '../trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('HOOK_KINDS: one table for every core hook', () => {
  test('its lifecycle events are CORE_EVENT_NAMES in order; step hooks sit inside the batch', () => {
    const names = Object.keys(HOOK_KINDS);
    expect(names.filter((n) => n.startsWith('on'))).toEqual([...CORE_EVENT_NAMES]);
    expect(names.slice(names.indexOf('onBatchStart') + 1, names.indexOf('onBatchEnd'))).toEqual([
      'transformBatch',
      'transformLoss',
      'transformGradients',
      'transformStepGate',
      'afterOptimizerStep',
    ]);
    expect(HOOK_KINDS.afterOptimizerStep).toBe('notify');
    expect(HOOK_KINDS.transformStepGate).toBe('transform');
    expect(HOOK_KINDS.transformLoss).toBe('transform');
    expect(HOOK_KINDS.onException).toBe('emitIsolated');
  });

  test('describe() lists hooks in the table order, custom events after', () => {
    const every = definePlugin({
      name: 'every',
      'x:custom': () => {},
      onFitEnd: () => {},
      afterOptimizerStep: () => {},
      onBatchEnd: () => {},
      transformLoss: (_c: unknown, l: tf.Scalar) => l,
      onFitStart: () => {},
    } as never);
    const text = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [every],
      log: 'silent',
    }).describe();
    const hooks = text
      .slice(text.indexOf('hooks (who runs, in order):'))
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(':')[0]);
    expect(hooks).toEqual([
      'onFitStart',
      'transformLoss',
      'afterOptimizerStep',
      'onBatchEnd',
      'onFitEnd',
      'x',
    ]);
  });

  test('notify: afterOptimizerStep runs after every optimizer step; what it returns is ignored', async () => {
    let calls = 0;
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [
        definePlugin({
          name: 'counter',
          afterOptimizerStep: (() => {
            calls += 1;
            return 'ignored';
          }) as never,
        }),
      ],
      accumulateBatches: 2,
      log: 'silent',
    });
    // 5 batches of 10 with k = 2: steps after batches 2 and 4, and the flush of batch 5.
    await t.fit(classificationData(50), { epochs: 1, batchSize: 10, shuffle: false });
    expect(calls).toBe(3);
    expect(t.time.step).toBe(3);
  });
});
