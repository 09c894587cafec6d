// Coming from model.fit (issue 22): its habits accepted with tfjs's meaning, or refused with the fix.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { checkpoint } from './checkpoint/checkpoint-plugin.js';
import { isTensorloopError, TensorloopError } from './errors.js';
import { definePlugin, type LogEntry } from './plugin.js';
import { classificationData, tinyClassifier } from './test-helpers.js';
import { Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const caught = async (run: () => unknown): Promise<TensorloopError> => {
  try {
    await run();
  } catch (error) {
    if (error instanceof TensorloopError) return error;
    throw error;
  }
  throw new Error('expected a TensorloopError');
};

describe('optimizer strings mean what they mean in tfjs', () => {
  test.each([
    ['rmsprop', 'RMSProp', 0.001],
    ['Adam', 'Adam', 0.001],
    ['adamax', 'Adamax', 0.002],
    ['sgd', 'SGD', 0.01],
    ['adagrad', 'Adagrad', 0.01],
    ['adadelta', 'Adadelta', 1],
    ['momentum', 'Momentum', 0.01],
  ])('%s → tf.train’s %s at lr %s (tfjs-layers getOptimizer defaults)', (name, className, lr) => {
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: name as 'adam',
      log: 'silent',
    });
    expect((t.optimizer as tf.Optimizer).getClassName()).toBe(className);
    expect(t.hparams.get('lr')).toBe(lr);
  });

  test('a bad name is echoed with the valid ones', async () => {
    const e = await caught(
      () =>
        new Trainer({
          model: tinyClassifier(),
          loss: 'mse',
          optimizer: 'adamw-ish' as 'adam',
          log: 'silent',
        }),
    );
    expect(e.code).toBe('TL_OPTIMIZER_INVALID');
    expect(e.message).toContain('unknown optimizer name "adamw-ish"');
    expect(e.message).toContain('sgd, adam, adamax, rmsprop, adagrad, adadelta, momentum');
  });
});

describe('a compiled model supplies its loss, optimizer and metrics', () => {
  test('new Trainer({ model }) trains with what model.compile was given', async () => {
    const model = tinyClassifier();
    const optimizer = tf.train.adam(0.01);
    model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const t = new Trainer({ model, log: 'silent' });
    expect(t.optimizer).toBe(optimizer);
    const { history } = await t.fit(classificationData(40), { epochs: 3, batchSize: 10 });
    expect(Object.keys(history[0]!.logs)).toEqual(expect.arrayContaining(['loss', 'accuracy']));
    expect(history[2]!.logs.loss).toBeLessThan(history[0]!.logs.loss!);
  });

  test("when both are given the Trainer's options win, and one info line says so", () => {
    const model = tinyClassifier();
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const entries: LogEntry[] = [];
    const mine = tf.train.adam(1e-3);
    const t = new Trainer({
      model,
      optimizer: mine,
      loss: 'categoricalCrossentropy',
      log: (e) => void entries.push(e),
    });
    expect(t.optimizer).toBe(mine);
    expect(entries.map((e) => e.message)).toEqual([
      "the model was compiled with its own loss, optimizer; the Trainer's options are used instead.",
    ]);
  });

  test('an uncompiled model without loss or optimizer is refused with the fix', async () => {
    expect(
      (await caught(() => new Trainer({ model: tinyClassifier(), loss: 'mse', log: 'silent' }))).message,
    ).toContain('got nothing (and the model is not compiled)');
    expect(
      (await caught(() => new Trainer({ model: tinyClassifier(), optimizer: 'adam', log: 'silent' }))).code,
    ).toBe('TL_LOSS_UNKNOWN');
  });
});

describe('unknown option keys are refused, naming the key and the closest valid one', () => {
  test('Trainer, fit and evaluate', async () => {
    const make = (extra: object) =>
      new Trainer({
        model: tinyClassifier(),
        loss: 'categoricalCrossentropy',
        optimizer: 'sgd',
        log: 'silent',
        ...extra,
      });
    expect((await caught(() => make({ seeds: 1 }))).message).toContain(
      'unknown option "seeds"; did you mean "seed"?',
    );
    const t = make({});
    const data = classificationData(10);
    expect((await caught(() => t.fit(data, { epochs: 1, batch_size: 5 } as never))).message).toContain(
      'did you mean "batchSize"?',
    );
    expect((await caught(() => t.evaluate(data, { batchsize: 5 } as never))).message).toContain(
      'did you mean "batchSize"?',
    );
  });

  test('model.fit options tensorloop does not take say what to do instead', async () => {
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: 'sgd',
      log: 'silent',
    });
    const data = classificationData(10);
    const e = await caught(() => t.fit(data, { epochs: 1, initialEpoch: 3 } as never));
    expect(e.message).toContain('"initialEpoch" is a model.fit option tensorloop does not take');
    expect((await caught(() => t.fit(data, { epochs: 1, classWeight: {} } as never))).message).toContain(
      'a custom loss',
    );
  });
});

describe('validationSplit, as tfjs does it', () => {
  test('the last fraction of the samples, before shuffling, is the validation data', async () => {
    const data = classificationData(50);
    const a = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      seed: 3,
      log: 'silent',
    });
    const split = await a.fit(data, { epochs: 2, batchSize: 10, validationSplit: 0.2 });
    const b = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      seed: 3,
      log: 'silent',
    });
    const train = { x: data.x.slice(0, 40), y: data.y.slice(0, 40) };
    const val = { x: data.x.slice(40, 10), y: data.y.slice(40, 10) };
    const explicit = await b.fit(train, { epochs: 2, batchSize: 10, validationData: val });
    expect(split.history.map((h) => h.logs)).toEqual(explicit.history.map((h) => h.logs));
    expect(split.history[0]!.logs.val_loss).toBeTypeOf('number');
  });

  test('refused for iterables, with validationData, and outside (0, 1); no tensor leaks', async () => {
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: 'sgd',
      log: 'silent',
    });
    const data = classificationData(20);
    const before = tf.memory().numTensors;
    expect((await caught(() => t.fit([data], { epochs: 1, validationSplit: 0.2 }))).message).toContain(
      'for a dataset or an iterable, pass validationData',
    );
    expect(
      (await caught(() => t.fit(data, { epochs: 1, validationSplit: 0.2, validationData: data }))).message,
    ).toContain('both validationData and validationSplit');
    expect((await caught(() => t.fit(data, { epochs: 1, validationSplit: 1 }))).code).toBe(
      'TL_OPTION_INVALID',
    );
    await t.fit(data, { epochs: 1, validationSplit: 0.5, batchSize: 10 });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("tfjs's log key spelling", () => {
  test('monitor: val_acc reads val_accuracy, with one info line', async () => {
    const entries: LogEntry[] = [];
    const ckpt = checkpoint({
      dir: `${process.env.TMPDIR ?? '/tmp'}/tl-acc-alias-${process.pid}`,
      monitor: 'val_acc',
      keepLast: false,
    });
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: 'sgd',
      plugins: [ckpt],
      log: (e) => void entries.push(e),
    });
    const data = classificationData(20);
    await t.fit(data, { epochs: 2, batchSize: 10, validationData: data });
    expect(ckpt.api!.best[0]!.score).toBe(Math.max(...t.history.map((h) => h.logs.val_accuracy!)));
    expect(entries.filter((e) => e.message.includes("tfjs's spelling"))).toHaveLength(1);
  });
});

describe('one rule for errors from plugins', () => {
  test("a plugin's own coded error keeps its code; each prefix is printed once", async () => {
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: 'sgd',
      plugins: [
        definePlugin({
          name: 'picky',
          onEpochEnd: () => {
            throw new TensorloopError(
              'TL_MONITOR_UNKNOWN',
              '[picky] monitors "x", which is not in the epoch logs.',
              { plugin: 'picky' },
            );
          },
        }),
      ],
      log: 'silent',
    });
    const e = await caught(() => t.fit(classificationData(10), { epochs: 1, batchSize: 10 }));
    expect(isTensorloopError(e, 'TL_MONITOR_UNKNOWN')).toBe(true);
    expect([e.plugin, e.hook]).toEqual(['picky', 'onEpochEnd']);
    expect(e.message).toBe(
      '[TL_MONITOR_UNKNOWN] [picky] hook "onEpochEnd" failed at epoch 0, step 1, batch 1 of the epoch: monitors "x", which is not in the epoch logs.',
    );
  });
});
