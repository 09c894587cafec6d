import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { TensorloopError } from './errors.js';
import { sgd } from './optim/sgd.js';
import { definePlugin } from './plugin.js';
import { classificationData, cloneModel, maxAbsDiff, tinyClassifier, weightsOf } from './test-helpers.js';
import { Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const setLr = (name: string, value: number) =>
  definePlugin({
    name,
    hparams: [{ name: 'lr', mode: 'set' }],
    onFitStart: (ctx) => ctx.hparams.set('lr', value),
  });
const scaleLr = (name: string, factor: number) =>
  definePlugin({
    name,
    hparams: [{ name: 'lr', mode: 'multiply' }],
    onFitStart: (ctx) => ctx.hparams.set('lr', factor),
  });

function deltaNorm(a: Float32Array[], b: Float32Array[]): number {
  let s = 0;
  a.forEach((arr, i) => {
    arr.forEach((v, j) => {
      s += (v - b[i]![j]!) ** 2;
    });
  });
  return Math.sqrt(s);
}

describe('hyperparameter store in the trainer', () => {
  test('two set writers of one value are refused at construction, naming both', () => {
    let error: unknown;
    try {
      new Trainer({
        model: tinyClassifier(),
        loss: 'categoricalCrossentropy',
        optimizer: sgd({ lr: 0.1 }),
        plugins: [setLr('@x/one-cycle', 0.1), setLr('@x/cosine', 0.2)],
        log: 'silent',
      });
    } catch (e) {
      error = e;
    }
    expect((error as TensorloopError).code).toBe('TL_HPARAM_CONFLICT');
    expect((error as TensorloopError).message).toContain('@x/one-cycle');
    expect((error as TensorloopError).message).toContain('@x/cosine');
  });

  test('set × multiply compose; explain says how; the optimizer steps with the composed value', async () => {
    const data = classificationData(16);
    const base = tinyClassifier();
    const a = cloneModel(base, () => tinyClassifier());
    const b = cloneModel(base, () => tinyClassifier());
    let explained = '';
    const reader = definePlugin({
      name: 'reader',
      onEpochEnd: (ctx) => {
        explained = ctx.hparams.explain('lr').text;
      },
    });
    const composed = new Trainer({
      model: a,
      loss: 'categoricalCrossentropy',
      optimizer: sgd({ lr: 1 }),
      plugins: [setLr('sched', 0.2), scaleLr('warmup', 0.5), scaleLr('plateau', 0.3), reader],
      log: 'silent',
    });
    await composed.fit(data, { epochs: 1, batchSize: 16 });
    expect(composed.hparams.get('lr')).toBeCloseTo(0.03, 12);
    expect(explained).toBe(
      'lr(group default) = 0.03 = 0.2 (set by sched) × 0.5 (multiply by warmup) × 0.3 (multiply by plateau)',
    );
    expect(composed.paramGroups[0]!.hparams.lr).toBeCloseTo(0.03, 12);
    await new Trainer({
      model: b,
      loss: 'categoricalCrossentropy',
      optimizer: sgd({ lr: 0.03 }),
      log: 'silent',
    }).fit(data, { epochs: 1, batchSize: 16 });
    expect(maxAbsDiff(weightsOf(a), weightsOf(b))).toBeLessThan(1e-7);
  });

  test('a tfjs optimizer is driven too (SGD needs setLearningRate)', async () => {
    const data = classificationData(16);
    const model = tinyClassifier();
    const before = weightsOf(model);
    await new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.5),
      plugins: [setLr('zero', 0)],
      log: 'silent',
    }).fit(data, {
      epochs: 1,
      batchSize: 8,
    });
    expect(maxAbsDiff(before, weightsOf(model))).toBe(0);
  });

  test('a user value read inside a custom loss changes the trained result', async () => {
    const data = classificationData(24);
    const base = tinyClassifier();
    const weighted = (yTrue: tf.Tensor, yPred: tf.Tensor, ctx: { hparams: { get(n: string): number } }) =>
      tf.mul(tf.metrics.categoricalCrossentropy(yTrue, yPred), ctx.hparams.get('lossWeight.main'));
    const run = async (weight: number | undefined) => {
      const model = cloneModel(base, () => tinyClassifier());
      const halve = definePlugin({
        name: 'loss-weight',
        hparams: [{ name: 'lossWeight.main', mode: 'set' }],
        onFitStart: (ctx) => {
          if (weight !== undefined) ctx.hparams.set('lossWeight.main', weight);
        },
      });
      await new Trainer({
        model,
        loss: weighted,
        optimizer: sgd({ lr: 0.2 }),
        hparams: { 'lossWeight.main': 1 },
        plugins: [halve],
        log: 'silent',
      }).fit(data, { epochs: 1, batchSize: 24 });
      return weightsOf(model);
    };
    const start = weightsOf(base);
    const full = await run(undefined);
    const half = await run(0.5);
    // One SGD step: the update is proportional to the loss weight.
    expect(deltaNorm(half, start) / deltaNorm(full, start)).toBeCloseTo(0.5, 5);
  });

  test('an undeclared writer is refused with the fix', async () => {
    const rogue = definePlugin({ name: 'rogue', onFitStart: (ctx) => ctx.hparams.set('lr', 1) });
    const e = await new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: sgd({ lr: 0.1 }),
      plugins: [rogue],
      log: 'silent',
    })
      .fit(classificationData(8), { epochs: 1 })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TensorloopError);
    expect((e as TensorloopError).plugin).toBe('rogue');
    expect((e as TensorloopError).message).toMatch(/declare/i);
  });

  test('param groups: the trainer lists them and per-group lr applies (discriminative lr)', async () => {
    const data = classificationData(16);
    const model = tinyClassifier();
    const first = model.layers[0]!.name;
    const trainer = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      optimizer: sgd({ lr: 0.1, groups: [{ name: 'body', match: new RegExp(`^${first}/`), lr: 0.01 }] }),
      log: 'silent',
    });
    expect(trainer.paramGroups.map((g) => [g.name, g.hparams.lr, g.variables.length])).toEqual([
      ['body', 0.01, 2],
      ['default', 0.1, 2],
    ]);
    expect(trainer.parameters().map((p) => p.group)).toEqual(['body', 'body', 'default', 'default']);
    expect(trainer.hparams.explain('lr', { group: 'body' }).value).toBe(0.01);
    await trainer.fit(data, { epochs: 1, batchSize: 16 });
  });
});

describe('gradient accumulation and clipping', () => {
  test('k micro-batches of n equal one batch of k·n (SGD, same data order)', async () => {
    const data = classificationData(64);
    const base = tinyClassifier();
    const a = cloneModel(base, () => tinyClassifier());
    const b = cloneModel(base, () => tinyClassifier());
    const big = await new Trainer({
      model: a,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.3),
      log: 'silent',
    }).fit(data, {
      epochs: 2,
      batchSize: 32,
      shuffle: false,
    });
    const small = await new Trainer({
      model: b,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.3),
      accumulateBatches: 4,
      log: 'silent',
    }).fit(data, { epochs: 2, batchSize: 8, shuffle: false });
    expect(maxAbsDiff(weightsOf(a), weightsOf(b))).toBeLessThan(1e-6);
    expect(small.time.step).toBe(big.time.step);
    expect(small.time.batch).toBe(16);
    expect(small.history[1]!.logs.loss).toBeCloseTo(big.history[1]!.logs.loss!, 5);
  });

  test('a window cut by the end of the epoch still steps', async () => {
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      accumulateBatches: 2,
      log: 'silent',
    });
    const r = await t.fit(classificationData(40), { epochs: 1, batchSize: 8 }); // 5 micro-batches
    expect(r.time.batch).toBe(5);
    expect(r.time.step).toBe(3);
  });

  test('clipping by global norm bounds the update exactly (SGD lr 1)', async () => {
    const data = classificationData(16);
    const model = tinyClassifier();
    const before = weightsOf(model);
    await new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      optimizer: sgd({ lr: 1 }),
      gradientClip: { maxNorm: 1e-3 },
      log: 'silent',
    }).fit(data, {
      epochs: 1,
      batchSize: 16,
    });
    expect(deltaNorm(weightsOf(model), before)).toBeCloseTo(1e-3, 6);
  });

  test('clipping by value clamps every gradient element', async () => {
    const data = classificationData(16);
    const model = tinyClassifier();
    const before = weightsOf(model);
    await new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      optimizer: sgd({ lr: 1 }),
      gradientClip: { maxValue: 1e-4 },
      log: 'silent',
    }).fit(data, {
      epochs: 1,
      batchSize: 16,
    });
    const moves = weightsOf(model).flatMap((w, i) => Array.from(w, (v, j) => Math.abs(v - before[i]![j]!)));
    expect(Math.max(...moves)).toBeLessThanOrEqual(1e-4 + 1e-7);
    expect(Math.max(...moves)).toBeGreaterThan(0.9e-4);
  });
});
