import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { TensorloopError } from './errors.js';
import { definePlugin, type Plugin } from './plugin.js';
import { skipBatch, stop, stopEpoch } from './signals.js';
import { classificationData, maxAbsDiff, tinyClassifier, weightsOf } from './test-helpers.js';
import { Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const data = classificationData(40); // 4 batches of 10

function trainer(plugins: Plugin[], model = tinyClassifier()) {
  return new Trainer({
    model,
    loss: 'categoricalCrossentropy',
    optimizer: tf.train.sgd(0.1),
    plugins,
    log: 'silent',
  });
}

describe('control signals', () => {
  test('stop from onBatchEnd ends the fit mid-epoch; onEpochEnd still runs (partial); stopReason says who and why', async () => {
    const epochEnds: boolean[] = [];
    const stopper = definePlugin({
      name: 'stopper',
      onBatchEnd: (ctx) => (ctx.time.batch === 6 ? stop('loss exploded') : undefined),
    });
    const watcher = definePlugin({ name: 'watcher', onEpochEnd: (_c, e) => void epochEnds.push(e.partial) });
    const t = trainer([stopper, watcher]);
    const result = await t.fit(data, { epochs: 5, batchSize: 10, validationData: data });
    expect(result.time.batch).toBe(6);
    expect(result.stopReason).toMatchObject({ by: 'stopper', message: 'loss exploded', hook: 'onBatchEnd' });
    expect(result.stopReason?.time.batch).toBe(6);
    expect(epochEnds).toEqual([false, true]);
    expect(result.history[1]!.logs.val_loss).toBeUndefined(); // validation is skipped on a mid-epoch stop
  });

  test('the first stop wins, and every plugin still sees the event', async () => {
    const seen: string[] = [];
    const a = definePlugin({ name: 'a', onEpochEnd: () => stop('a says stop') });
    const b = definePlugin({
      name: 'b',
      onEpochEnd: () => {
        seen.push('b');
        return stop('b says stop');
      },
    });
    const c = definePlugin({ name: 'c', onEpochEnd: () => void seen.push('c') });
    const result = await trainer([a, b, c]).fit(data, { epochs: 3, batchSize: 10 });
    expect(seen).toEqual(['b', 'c']);
    expect(result.stopReason?.by).toBe('a');
    expect(result.history).toHaveLength(1);
  });

  test('stopEpoch ends only the current epoch', async () => {
    const stopper = definePlugin({
      name: 's',
      onBatchEnd: (_c, e) => (e.batch === 1 ? stopEpoch('short epochs') : undefined),
    });
    const result = await trainer([stopper]).fit(data, { epochs: 3, batchSize: 10 });
    expect(result.history).toHaveLength(3);
    expect(result.time.batch).toBe(6);
    expect(result.stopReason).toBeUndefined();
  });

  test('skipBatch: no forward pass and no optimizer step, the batch is still consumed', async () => {
    const skipAll = definePlugin({ name: 'skip', onBatchStart: () => skipBatch('not this one') });
    const ends: boolean[] = [];
    const watch = definePlugin({ name: 'w', onBatchEnd: (_c, e) => void ends.push(e.skipped) });
    const model = tinyClassifier();
    const before = weightsOf(model);
    const result = await trainer([skipAll, watch], model).fit(data, { epochs: 1, batchSize: 10 });
    expect(maxAbsDiff(before, weightsOf(model))).toBe(0);
    expect(result.time.step).toBe(0);
    expect(result.time.batch).toBe(4);
    expect(ends).toEqual([true, true, true, true]);

    const skipSecond = definePlugin({
      name: 'skip2',
      onBatchStart: (_c, e) => (e.batch === 1 ? skipBatch('x') : undefined),
    });
    const r2 = await trainer([skipSecond]).fit(data, { epochs: 1, batchSize: 10 });
    expect(r2.time.step).toBe(3);
    expect(r2.time.sample).toBe(30);
  });

  test('stop at onFitStart runs no epoch', async () => {
    const p = definePlugin({ name: 'nope', onFitStart: () => stop('nothing to do') });
    const result = await trainer([p]).fit(data, { epochs: 3, batchSize: 10 });
    expect(result.history).toHaveLength(0);
    expect(result.time.step).toBe(0);
    expect(result.stopReason?.by).toBe('nope');
  });

  test('a signal a hook cannot honour (from untyped JS) is refused with a coded error', async () => {
    const bad = { name: 'js-plugin', onEpochEnd: () => skipBatch('x') } as unknown as Plugin;
    const err = await trainer([bad])
      .fit(data, { epochs: 1, batchSize: 10 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TensorloopError);
    expect((err as TensorloopError).code).toBe('TL_SIGNAL_INVALID');
    expect((err as TensorloopError).message).toContain('it may return stop(reason)');
  });
});
