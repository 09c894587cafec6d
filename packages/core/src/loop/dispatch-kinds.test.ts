import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { CORE_EVENT_NAMES, definePlugin, HOOK_KINDS } from '../plugin.js';
import { skipBatch, stop } from '../signals.js';
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
      'afterOptimizerStep',
    ]);
    expect(HOOK_KINDS.afterOptimizerStep).toBe('notify');
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

  test('notify: afterOptimizerStep runs after every optimizer step, including the flush of an accumulation window', async () => {
    let calls = 0;
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [
        definePlugin({
          name: 'counter',
          afterOptimizerStep: () => {
            calls += 1;
            return undefined;
          },
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

  test('step hooks that return a signal, a Promise or the wrong kind of value are refused, naming plugin and hook', async () => {
    const cases: [string, Record<string, unknown>, string, RegExp][] = [
      [
        'signal-after',
        { afterOptimizerStep: () => stop('no') },
        'TL_SIGNAL_INVALID',
        /\[bad\] step hook "afterOptimizerStep" returned stop/,
      ],
      [
        'async-after',
        { afterOptimizerStep: async () => {} },
        'TL_PLUGIN_INVALID',
        /"afterOptimizerStep" returned a Promise/,
      ],
      [
        'signal-grads',
        { transformGradients: () => skipBatch('no') },
        'TL_SIGNAL_INVALID',
        /"transformGradients" returned skipBatch/,
      ],
      [
        'array-grads',
        { transformGradients: (_c: unknown, g: Map<string, tf.Tensor>) => [...g.values()] },
        'TL_PLUGIN_INVALID',
        /"transformGradients" returned .*gradient map/,
      ],
      [
        'undefined-loss',
        { transformLoss: () => undefined },
        'TL_PLUGIN_INVALID',
        /"transformLoss" returned undefined; it must synchronously return the loss scalar/,
      ],
    ];
    for (const [label, hooks, code, message] of cases) {
      const t = new Trainer({
        model: tinyClassifier(),
        loss: 'categoricalCrossentropy',
        optimizer: tf.train.sgd(0.1),
        plugins: [definePlugin({ name: 'bad', ...hooks } as never)],
        log: 'silent',
      });
      const error = (await t
        .fit(classificationData(10), { epochs: 1, batchSize: 10 })
        .catch((e: unknown) => e)) as {
        code: string;
        plugin: string;
        hook: string;
        message: string;
      };
      expect([label, error.code, error.plugin]).toEqual([label, code, 'bad']);
      expect(error.message).toMatch(message);
    }
  });
});
