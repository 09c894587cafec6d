import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { TensorloopError } from './errors.js';
import { definePlugin, type Plugin } from './plugin.js';
import { classificationData, maxAbsDiff, recorder, tinyClassifier, weightsOf } from './test-helpers.js';
import { Trainer, type TrainerOptions } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function caught(p: Promise<unknown> | (() => unknown)): Promise<TensorloopError> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (e) {
    if (e instanceof TensorloopError) return e;
    throw e;
  }
  throw new Error('expected a TensorloopError');
}

const base = (extra: Partial<TrainerOptions> = {}): TrainerOptions => ({
  model: tinyClassifier(),
  loss: 'categoricalCrossentropy',
  optimizer: tf.train.sgd(0.1),
  log: 'silent',
  ...extra,
});

describe('bad input fails before the first step, with a code that names it', () => {
  test('x with the wrong number of features', async () => {
    const log: string[] = [];
    const model = tinyClassifier();
    const before = weightsOf(model);
    const t = new Trainer(base({ model, plugins: [recorder('r', log)] }));
    const e = await caught(t.fit({ x: tf.zeros([10, 5]), y: tf.zeros([10, 3]) }, { epochs: 1 }));
    expect(e.code).toBe('TL_SHAPE_MISMATCH');
    expect(e.message).toContain('x has shape [10, 5]');
    expect(e.message).toContain('expects [null, 4]');
    expect(log).toEqual([]); // no hook ran: nothing started
    expect(maxAbsDiff(before, weightsOf(model))).toBe(0);
  });

  test('y that does not match the output, with a hint for class indices', async () => {
    const t = new Trainer(base());
    const e = await caught(t.fit({ x: tf.zeros([10, 4]), y: tf.zeros([10]) }, { epochs: 1 }));
    expect(e.code).toBe('TL_SHAPE_MISMATCH');
    expect(e.message).toContain('sparseCategoricalCrossentropy');
  });

  test('x and y with different sample counts', async () => {
    const e = await caught(
      new Trainer(base()).fit({ x: tf.zeros([10, 4]), y: tf.zeros([9, 3]) }, { epochs: 1 }),
    );
    expect(e.code).toBe('TL_SHAPE_MISMATCH');
    expect(e.message).toContain('10 samples');
  });

  test('NaN in the input data, and in the first batch of an iterable', async () => {
    const x = tf.tensor2d([
      [1, 2, 3, 4],
      [1, Number.NaN, 3, 4],
    ]);
    const e = await caught(new Trainer(base()).fit({ x, y: tf.zeros([2, 3]) }, { epochs: 1 }));
    expect(e.code).toBe('TL_DATA_NOT_FINITE');
    expect(e.message).toContain('x contains NaN');
    const e2 = await caught(new Trainer(base()).fit([{ x, y: tf.zeros([2, 3]) }], { epochs: 1 }));
    expect(e2.code).toBe('TL_DATA_NOT_FINITE');
    const e3 = await caught(
      new Trainer(base()).fit(
        { x: tf.zeros([2, 4]), y: tf.zeros([2, 3]) },
        { epochs: 1, validationData: { x, y: tf.zeros([2, 3]) } },
      ),
    );
    expect(e3.message).toContain('validationData');
  });

  test('unknown loss or metric names, at construction', async () => {
    const e = await caught(() => new Trainer(base({ loss: 'crossEntropy' as never })));
    expect(e.code).toBe('TL_LOSS_UNKNOWN');
    expect(e.message).toContain('categoricalCrossentropy');
    const m = await caught(() => new Trainer(base({ metrics: ['acuracy' as never] })));
    expect(m.code).toBe('TL_METRIC_UNKNOWN');
    expect(m.message).toContain('Known metrics: accuracy');
  });

  test('epochs < 1 and other invalid options', async () => {
    const t = new Trainer(base());
    const data = { x: tf.zeros([4, 4]), y: tf.zeros([4, 3]) };
    expect((await caught(t.fit(data, { epochs: 0 }))).code).toBe('TL_OPTION_INVALID');
    expect((await caught(t.fit(data, { epochs: 0 }))).message).toContain(
      'epochs must be an integer ≥ 1; got 0',
    );
    expect((await caught(t.fit(data, { epochs: 1, batchSize: 2.5 }))).message).toContain('batchSize');
    expect((await caught(() => new Trainer(base({ optimizer: {} as never })))).code).toBe(
      'TL_OPTIMIZER_INVALID',
    );
    expect((await caught(() => new Trainer(base({ model: {} as never })))).code).toBe('TL_MODEL_INVALID');
  });

  test('a second fit while one runs is refused', async () => {
    const t = new Trainer(base());
    const data = { x: tf.zeros([4, 4]), y: tf.zeros([4, 3]) };
    const first = t.fit(data, { epochs: 2 });
    const e = await caught(t.fit(data, { epochs: 1 }));
    expect(e.code).toBe('TL_FIT_CONCURRENT');
    await first;
  });
});

describe('an exception in a hook', () => {
  test('is wrapped with plugin, hook and time; onException and onFitEnd still run; no tensor leaks', async () => {
    const { x, y } = classificationData(40);
    const log: string[] = [];
    const seen: { exception?: TensorloopError; fitEnd?: TensorloopError | undefined } = {};
    const boom = definePlugin({
      name: 'boom',
      onBatchEnd: (ctx) => {
        if (ctx.time.batch === 6) throw new Error('kaboom');
      },
    });
    const observer: Plugin = definePlugin({
      name: 'observer',
      onException: (_c, e) => {
        seen.exception = e.error;
      },
      onFitEnd: (_c, e) => {
        seen.fitEnd = e.error;
      },
    });
    const t = new Trainer(base({ plugins: [boom, observer, recorder('r', log)] }));
    await t.fit({ x, y }, { epochs: 1, batchSize: 10 }); // warm-up (batch 6 is not reached)
    const tensorsBefore = tf.memory().numTensors;
    const e = await caught(t.fit({ x, y }, { epochs: 3, batchSize: 10 }));
    expect(e.code).toBe('TL_HOOK_FAILED');
    expect(e.plugin).toBe('boom');
    expect(e.hook).toBe('onBatchEnd');
    expect(e.time?.batch).toBe(6);
    expect(e.message).toContain('[boom] hook "onBatchEnd" failed at epoch 1');
    expect(e.message).toContain('kaboom');
    expect((e.cause as Error).message).toBe('kaboom');
    expect(seen.exception).toBe(e);
    expect(seen.fitEnd).toBe(e);
    expect(log.at(-1)).toBe('r:fitEnd:false');
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  test('a coded error thrown by a plugin keeps its code', async () => {
    const p = definePlugin({
      name: 'sched',
      onFitStart: () => {
        throw new TensorloopError('TL_SCHEDULE_INVALID', 'bad schedule');
      },
    });
    const e = await caught(
      new Trainer(base({ plugins: [p] })).fit({ x: tf.zeros([4, 4]), y: tf.zeros([4, 3]) }, { epochs: 1 }),
    );
    expect(e.code).toBe('TL_SCHEDULE_INVALID');
    expect(e.plugin).toBe('sched');
    expect(e.hook).toBe('onFitStart');
  });

  test('a step transform that throws is wrapped too, and the trainer can fit again', async () => {
    let fail = true;
    const p = definePlugin({
      name: 'grads',
      transformGradients: (_c, g) => {
        if (fail) throw new Error('bad grads');
        return g;
      },
    });
    const t = new Trainer(base({ plugins: [p] }));
    const data = classificationData(20);
    const e = await caught(t.fit(data, { epochs: 1, batchSize: 10 }));
    expect(e.hook).toBe('transformGradients');
    fail = false;
    const r = await t.fit(data, { epochs: 1, batchSize: 10 });
    expect(r.history).toHaveLength(1);
  });
});
