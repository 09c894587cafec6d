// fit({ callbacks }) runs tfjs callbacks with tfjs's semantics (issue 22): logs keys, fit-local
// epochs, async methods awaited, model.stopTraining turned into a stop; the rest refused.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { CALLBACKS_PLUGIN } from './callbacks-bridge.js';
import { TensorloopError } from './errors.js';
import { classificationData, tinyClassifier } from './test-helpers.js';
import { Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const trainer = (lr = 0.1) =>
  new Trainer({
    model: tinyClassifier(),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: tf.train.sgd(lr),
    log: 'silent',
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

describe('CustomCallbackArgs objects', () => {
  test('every method runs in tfjs order, with fit-local epochs and tfjs log keys beside ours', async () => {
    const t = trainer();
    const data = classificationData(20);
    const val = classificationData(10, 4, 3, 11);
    await t.fit(data, { epochs: 1, batchSize: 10, validationData: val }); // the second fit's epochs start at 0 again
    const calls: string[] = [];
    const epochLogs: tf.Logs[] = [];
    const batchLogs: tf.Logs[] = [];
    const { history } = await t.fit(data, {
      epochs: 2,
      batchSize: 8,
      validationData: val,
      callbacks: {
        onTrainBegin: () => void calls.push('trainBegin'),
        onEpochBegin: (epoch) => void calls.push(`epochBegin ${epoch}`),
        onBatchBegin: (batch, logs) => void calls.push(`batchBegin ${batch} ${logs?.size}`),
        onBatchEnd: (batch, logs) => {
          calls.push(`batchEnd ${batch}`);
          batchLogs.push({ ...logs });
        },
        onEpochEnd: (epoch, logs) => {
          calls.push(`epochEnd ${epoch}`);
          epochLogs.push({ ...logs });
        },
        onTrainEnd: () => void calls.push('trainEnd'),
      },
    });
    const epoch = (e: number) => [
      `epochBegin ${e}`,
      'batchBegin 0 8',
      'batchEnd 0',
      'batchBegin 1 8',
      'batchEnd 1',
      'batchBegin 2 4',
      'batchEnd 2',
      `epochEnd ${e}`,
    ];
    expect(calls).toEqual(['trainBegin', ...epoch(0), ...epoch(1), 'trainEnd']);
    for (const [i, logs] of epochLogs.entries()) {
      const ours = history[i]!.logs;
      expect(logs.loss).toBe(ours.loss);
      expect(logs.val_loss).toBe(ours.val_loss);
      expect(logs.acc).toBe(ours.accuracy);
      expect(logs.val_acc).toBe(ours.val_accuracy);
      expect(logs.accuracy).toBe(ours.accuracy);
    }
    // Batch logs are tfjs's { batch, size, loss, acc }: their size-weighted mean is the epoch's loss.
    expect(batchLogs.slice(0, 3).map((l) => [l.batch, l.size])).toEqual([
      [0, 8],
      [1, 8],
      [2, 4],
    ]);
    const mean = batchLogs.slice(0, 3).reduce((s, l) => s + l.loss! * l.size!, 0) / 20;
    expect(mean).toBeCloseTo(history[0]!.logs.loss!, 5);
    expect(batchLogs[0]!.acc).toBeGreaterThanOrEqual(0);
    expect(t.plugins.map((p) => p.name)).not.toContain(CALLBACKS_PLUGIN); // for this fit only
  });

  test('fields and helpers of your own ride along; only a misspelt method is refused', async () => {
    const t = trainer();
    const timer = {
      ms: [] as number[],
      label: () => 'timer',
      onEpochEnd(epoch: number) {
        this.ms.push(epoch);
      },
    };
    await t.fit(classificationData(8), { epochs: 2, batchSize: 8, callbacks: timer });
    expect(timer.ms).toEqual([0, 1]); // called as a method: `this` is the object
  });

  test('async methods are awaited before the loop goes on', async () => {
    const t = trainer();
    const order: string[] = [];
    await t.fit(classificationData(8), {
      epochs: 2,
      batchSize: 8,
      callbacks: [
        {
          onEpochEnd: async (epoch) => {
            await new Promise((resolve) => setTimeout(resolve, 5));
            order.push(`slow end ${epoch}`);
          },
        },
        {
          onEpochBegin: (epoch) => void order.push(`begin ${epoch}`),
          onEpochEnd: (e) => void order.push(`end ${e}`),
        },
      ],
    });
    expect(order).toEqual(['begin 0', 'slow end 0', 'end 0', 'begin 1', 'slow end 1', 'end 1']);
  });

  test('model.stopTraining = true in onBatchEnd stops after that batch, as in tfjs', async () => {
    const t = trainer();
    let model: tf.LayersModel | undefined;
    const { stopReason, time } = await t.fit(classificationData(40), {
      epochs: 3,
      batchSize: 10,
      callbacks: new (class extends tf.Callback {
        override async onBatchEnd(batch: number) {
          model = this.model as tf.LayersModel;
          if (batch === 1) this.model.stopTraining = true;
        }
      })(),
    });
    expect(model).toBe(t.model); // setModel was called
    expect(time.batch).toBe(2);
    expect(stopReason?.by).toBe(CALLBACKS_PLUGIN);
    expect(stopReason?.message).toContain('set model.stopTraining');
    expect(t.model.stopTraining).toBe(false); // the next fit is not stopped at once
  });
});

describe('tfjs callback instances', () => {
  test('tf.CustomCallback runs the methods it was given', async () => {
    const t = trainer();
    const seen: number[] = [];
    await t.fit(classificationData(8), {
      epochs: 3,
      batchSize: 4,
      callbacks: new tf.CustomCallback({ onEpochEnd: (epoch) => void seen.push(epoch) }),
    });
    expect(seen).toEqual([0, 1, 2]);
  });

  test('tf.callbacks.earlyStopping stops where model.fit stops, on val_acc', async () => {
    // lr 0: val_acc never improves after the first epoch, so patience 2 ends the fit after epoch 3.
    const data = classificationData(16);
    const val = classificationData(8, 4, 3, 11);
    const reference = tinyClassifier();
    reference.compile({ loss: 'categoricalCrossentropy', optimizer: tf.train.sgd(0), metrics: ['accuracy'] });
    const tfjs = await reference.fit(data.x, data.y, {
      epochs: 10,
      batchSize: 8,
      validationData: [val.x, val.y],
      verbose: 0,
      callbacks: tf.callbacks.earlyStopping({ monitor: 'val_acc', patience: 2 }),
    });
    const t = trainer(0);
    const { history, stopReason } = await t.fit(data, {
      epochs: 10,
      batchSize: 8,
      validationData: val,
      callbacks: tf.callbacks.earlyStopping({ monitor: 'val_acc', patience: 2 }),
    });
    expect(tfjs.epoch.length).toBe(3);
    expect(history.length).toBe(tfjs.epoch.length);
    expect(history[0]!.logs.val_accuracy).toBeCloseTo(tfjs.history.val_acc![0] as number, 5);
    expect(stopReason?.message).toBe('tf.callbacks.earlyStopping: val_acc did not improve for 2 epochs');
  });
});

describe('what the bridge cannot run is refused with the fix', () => {
  const data = classificationData(8);
  test.each([
    [{ onYield: () => {} }, 'callbacks[0].onYield is a tfjs callback option the bridge does not support'],
    [{ onEpochEnds: () => {} }, 'unknown method "onEpochEnds"; did you mean "onEpochEnd"?'],
    [{ onEpochEnd: 'print' }, 'callbacks[0].onEpochEnd must be a function'],
    [[{ onEpochEnd: () => {} }, (epoch: number) => epoch], 'callbacks[1] must be a tfjs callback'],
  ])('%j', async (callbacks, message) => {
    const t = trainer();
    const e = await caught(() => t.fit(data, { epochs: 1, callbacks: callbacks as never }));
    expect(e.code).toBe('TL_OPTION_INVALID');
    expect(e.message).toContain(message);
    expect(t.time.batch).toBe(0); // refused before the first step
  });

  test("a callback's error follows the one rule for plugin errors", async () => {
    const t = trainer();
    const e = await caught(() =>
      t.fit(data, {
        epochs: 1,
        callbacks: {
          onEpochEnd: () => {
            throw new Error('boom');
          },
        },
      }),
    );
    expect(e.code).toBe('TL_HOOK_FAILED');
    expect(e.plugin).toBe(CALLBACKS_PLUGIN);
    expect(e.hook).toBe('onEpochEnd');
    expect(e.message).toContain('boom');
    expect(t.plugins.map((p) => p.name)).not.toContain(CALLBACKS_PLUGIN);
  });
});
