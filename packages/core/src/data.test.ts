import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import type { TensorloopError } from './errors.js';
import { definePlugin } from './plugin.js';
import { classificationData, maxAbsDiff, tinyClassifier, weightsOf } from './test-helpers.js';
import { Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function sizes() {
  const seen: number[] = [];
  return { seen, plugin: definePlugin({ name: 'sizes', onBatchStart: (_c, e) => void seen.push(e.size) }) };
}

const make = (plugins = [sizes().plugin], seed = 0) =>
  new Trainer({
    model: tinyClassifier(),
    loss: 'categoricalCrossentropy',
    optimizer: tf.train.sgd(0.1),
    plugins,
    seed,
    log: 'silent',
  });

describe('data adapters', () => {
  test('tensors: the last partial batch is kept', async () => {
    const s = sizes();
    const r = await make([s.plugin]).fit(classificationData(100), { epochs: 1, batchSize: 32 });
    expect(s.seen).toEqual([32, 32, 32, 4]);
    expect(r.time.sample).toBe(100);
  });

  test('tensors: the seeded shuffle is reproducible and depends on the seed', async () => {
    const data = classificationData(64);
    const run = async (seed: number) => {
      const model = tinyClassifier();
      await new Trainer({
        model,
        loss: 'categoricalCrossentropy',
        optimizer: tf.train.sgd(0.3),
        seed,
        log: 'silent',
      }).fit(data, { epochs: 2, batchSize: 8 });
      return weightsOf(model);
    };
    const a = await run(1);
    expect(maxAbsDiff(a, await run(1))).toBe(0);
    expect(maxAbsDiff(a, await run(2))).toBeGreaterThan(1e-4);
  });

  test('a tf.data.Dataset of { xs, ys } batches gives the same result as the same tensors', async () => {
    const { x, y } = classificationData(40);
    const ds = tf.data.zip({ xs: tf.data.array(tf.unstack(x)), ys: tf.data.array(tf.unstack(y)) }).batch(10);
    const m1 = tinyClassifier();
    const m2 = tinyClassifier();
    await new Trainer({
      model: m1,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      log: 'silent',
    }).fit(ds, { epochs: 2 });
    await new Trainer({
      model: m2,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      log: 'silent',
    }).fit({ x, y }, { epochs: 2, batchSize: 10, shuffle: false });
    expect(maxAbsDiff(weightsOf(m1), weightsOf(m2))).toBeLessThan(1e-6);
  });

  test('an async generator per epoch, and validation from an iterable', async () => {
    const { x, y } = classificationData(30);
    const batches = [0, 10, 20].map((s) => ({ x: x.slice(s, 10), y: y.slice(s, 10) }));
    async function* gen() {
      for (const b of batches) yield b;
    }
    const t = make();
    const r = await t.fit({ [Symbol.asyncIterator]: gen }, { epochs: 2, validationData: batches });
    expect(r.time.batch).toBe(6);
    expect(r.time.fraction).toBe(1);
    expect(r.history[1]!.logs.val_loss).toBeGreaterThan(0);
    // Batches of a plain iterable belong to the caller: still usable.
    expect(batches[0]!.x.isDisposed).toBe(false);
  });

  test('stepsPerEpoch draws from an endless source without restarting it', async () => {
    const { x, y } = classificationData(10);
    let made = 0;
    function* endless() {
      for (;;) {
        made += 1;
        yield { x, y };
      }
    }
    const r = await make().fit(endless(), { epochs: 3, stepsPerEpoch: 4 });
    expect(r.time.batch).toBe(12);
    expect(made).toBe(12);
    expect(r.time.fraction).toBe(1);
  });

  test('an endless source without stepsPerEpoch ending early, and junk batches, are clear errors', async () => {
    const { x, y } = classificationData(10);
    const short = [{ x, y }];
    const e = await make()
      .fit(short, { epochs: 1, stepsPerEpoch: 3 })
      .catch((err: unknown) => err);
    expect((e as TensorloopError).code).toBe('TL_DATA_INVALID');
    expect((e as TensorloopError).message).toContain('ended after 1 batches');
    const junk = await make()
      .fit([{ a: 1 }] as never, { epochs: 1 })
      .catch((err: unknown) => err);
    expect((junk as TensorloopError).code).toBe('TL_DATA_INVALID');
    expect((junk as TensorloopError).message).toContain('keys [a]');
  });

  test('data that is not data at all is refused, and the trainer stays usable', async () => {
    const t = make();
    const e = await t.fit({ nope: true } as never, { epochs: 1 }).catch((err: unknown) => err);
    expect((e as TensorloopError).code).toBe('TL_DATA_INVALID');
    expect((e as TensorloopError).message).toContain('keys [nope]');
    const r = await t.fit(classificationData(10), { epochs: 1, batchSize: 5 });
    expect(r.time.step).toBe(2);
    const e2 = await t.evaluate(42 as never).catch((err: unknown) => err);
    expect((e2 as TensorloopError).code).toBe('TL_DATA_INVALID');
    expect(await t.evaluate(classificationData(10))).toHaveProperty('loss');
  });
});
