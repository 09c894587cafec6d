import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { TensorloopError } from '../errors.js';
import { definePlugin, type LogEntry } from '../plugin.js';
import { classificationData, tinyClassifier } from '../test-helpers.js';
import { Trainer } from '../trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('the error path (emitIsolated)', () => {
  test('on a fit that throws, onException and onFitEnd handlers run in per-hook order', async () => {
    const seen: string[] = [];
    const mark = (name: string) =>
      definePlugin({
        name,
        onException: () => void seen.push(`${name}.onException`),
        onFitEnd: () => void seen.push(`${name}.onFitEnd`),
      });
    // Registered a, b, c; b asks to run first at the fit end and c last at exceptions.
    const a = mark('a');
    const b = definePlugin({
      ...mark('b'),
      onFitEnd: { order: 'pre', handler: () => void seen.push('b.onFitEnd') },
    });
    const c = definePlugin({
      ...mark('c'),
      onException: { order: 'post', handler: () => void seen.push('c.onException') },
    });
    const failing = definePlugin({
      name: 'failing',
      onEpochEnd: () => {
        throw new Error('boom');
      },
    });
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [a, c, b, failing],
      log: 'silent',
    });
    const error = await t.fit(classificationData(20), { epochs: 1, batchSize: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TensorloopError);
    expect(seen).toEqual([
      'a.onException',
      'b.onException',
      'c.onException',
      'b.onFitEnd',
      'a.onFitEnd',
      'c.onFitEnd',
    ]);
    // The same order as the normal path uses.
    const order = t.describe();
    expect(order).toContain('onFitEnd: b → a → c');
    expect(order).toContain('onException: a → b → c');
  });

  test('a handler that fails on the error path is logged; the others still run; the first error is thrown', async () => {
    const seen: string[] = [];
    const entries: LogEntry[] = [];
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [
        definePlugin({
          name: 'broken-cleanup',
          onFitEnd: { order: 'pre', handler: () => Promise.reject(new Error('cleanup failed')) },
        }),
        definePlugin({ name: 'cleanup', onFitEnd: () => void seen.push('cleanup') }),
        definePlugin({
          name: 'failing',
          onBatchEnd: () => {
            throw new Error('boom');
          },
        }),
      ],
      log: (e) => void entries.push(e),
    });
    const error = (await t
      .fit(classificationData(20), { epochs: 1, batchSize: 10 })
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('[failing] hook "onBatchEnd" failed');
    expect(seen).toEqual(['cleanup']);
    expect(entries.map((e) => e.message)).toContain(
      'broken-cleanup.onFitEnd failed while handling an earlier error: cleanup failed',
    );
  });
});
