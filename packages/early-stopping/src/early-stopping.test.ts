import * as tf from '@tensorflow/tfjs';
import { definePlugin, isTensorloopError, type LogEntry, stopEpoch, Trainer } from '@tensorloop/core';
import { beforeAll, describe, expect, test } from 'vitest';
import { earlyStopping } from './index.js';
import { runScripted, script, tinyData, tinyTrainer } from './test-helpers.js';

const NAME = '@tensorloop/early-stopping';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('patience (Keras counting)', () => {
  test('stops after `patience` epochs without improvement, at the epoch Keras stops', async () => {
    const run = await runScripted({ val_loss: [1, 0.9, 0.95, 0.93, 0.91, 0.8, 0.7] }, { patience: 3 });
    expect(run.epochs).toBe(5);
    expect(run.stopReason?.by).toBe(NAME);
    expect(run.stopReason?.time.epoch).toBe(4);
    expect(run.stopReason?.message).toBe(
      'no improvement in val_loss for 3 epochs (best val_loss 0.9 at epoch 1)',
    );
    const api = run.api;
    expect([api.best, api.bestEpoch, api.wait, api.stoppedEpoch]).toEqual([0.9, 1, 3, 4]);
  });

  test('patience 0 (the default) stops at the first epoch that does not improve', async () => {
    const run = await runScripted({ val_loss: [1, 0.9, 0.92, 0.5] }, {});
    expect(run.epochs).toBe(3);
    expect(run.api.stoppedEpoch).toBe(2);
  });

  test('runs to the end while the value keeps improving', async () => {
    const run = await runScripted({ val_loss: [1, 0.9, 0.8, 0.7] }, { patience: 1 });
    expect(run.epochs).toBe(4);
    expect(run.stopReason).toBeUndefined();
    expect(run.api.bestEpoch).toBe(3);
  });
});

describe("patience counting: Keras's by default, PyTorch's on request", () => {
  test('test_early_stopping_patience (Keras): stopped_epoch = max(patience, 1) + 2', async () => {
    // keras/src/callbacks/early_stopping_test.py test_early_stopping_patience, monitor loss
    const loss = [10.0, 9.0, 8.0, 9.0, 8.9, 8.8, 8.7, 8.6, 8.5];
    for (const patience of [0, 1, 2, 3]) {
      const run = await runScripted({ probe: loss }, { monitor: 'probe', mode: 'min', patience });
      expect([patience, run.api.stoppedEpoch]).toEqual([patience, Math.max(patience, 1) + 2]);
    }
  });

  test("counting: 'pytorch' acts after patience + 1 bad epochs, as ReduceLROnPlateau reads the word", async () => {
    const values = { val_loss: [1, 0.9, 0.95, 0.93, 0.91, 0.92, 0.7] };
    const keras = await runScripted(values, { patience: 3 });
    expect(keras.api.stoppedEpoch).toBe(4);
    const torch = await runScripted(values, { patience: 3, counting: 'pytorch' });
    expect(torch.api.stoppedEpoch).toBe(5);
    expect(torch.stopReason?.message).toBe(
      'no improvement in val_loss for 4 epochs (best val_loss 0.9 at epoch 1)',
    );
    const zero = await runScripted(
      { val_loss: [1, 0.9, 0.95, 0.96, 0.5] },
      { patience: 0, counting: 'pytorch' },
    );
    expect(zero.api.stoppedEpoch).toBe(2);
  });
});

describe('minDelta', () => {
  test('an improvement of exactly minDelta does not count; its sign is ignored', async () => {
    for (const minDelta of [0.1, -0.1]) {
      const run = await runScripted({ val_loss: [1, 0.95, 0.9, 0.5] }, { patience: 2, minDelta });
      expect(run.epochs).toBe(3);
      const api = run.api;
      expect([api.best, api.bestEpoch, api.stoppedEpoch]).toEqual([1, 0, 2]);
    }
  });

  test('an improvement larger than minDelta resets the count', async () => {
    const run = await runScripted({ val_loss: [1, 0.95, 0.9, 0.89] }, { patience: 1, minDelta: 0.04 });
    expect(run.epochs).toBe(4);
    expect(run.api.bestEpoch).toBe(2);
    expect(run.api.stoppedEpoch).toBe(3);
  });
});

describe('ties', () => {
  test('an equal value never replaces the best (min and max)', async () => {
    const min = await runScripted({ val_loss: [1, 1, 1] }, { patience: 1 });
    expect([min.epochs, min.api.bestEpoch]).toEqual([2, 0]);
    const max = await runScripted(
      { val_accuracy: [0.5, 0.7, 0.7, 0.7] },
      { monitor: 'val_accuracy', patience: 2 },
    );
    expect([max.epochs, max.api.bestEpoch]).toEqual([4, 1]);
  });
});

describe('baseline (Keras 3)', () => {
  test('the count is not reset until the baseline is beaten; the best is still tracked', async () => {
    const run = await runScripted({ val_loss: [1, 0.9, 0.95, 0.4, 0.3] }, { patience: 2, baseline: 0.5 });
    expect(run.epochs).toBe(3);
    expect(run.stopReason?.message).toBe(
      'val_loss did not reach the baseline 0.5 in 3 epochs (best val_loss 0.9 at epoch 1)',
    );
    expect(run.api.bestEpoch).toBe(1);
    expect(run.messages).toContain('val_loss has not reached the baseline 0.5 yet (2 of 2 epochs)');
  });

  test('once the baseline is beaten, patience works as usual', async () => {
    const run = await runScripted({ val_loss: [0.6, 0.4, 0.45, 0.44, 0.3] }, { patience: 2, baseline: 0.5 });
    expect(run.epochs).toBe(4);
    expect(run.stopReason?.message).toBe(
      'no improvement in val_loss for 2 epochs (best val_loss 0.4 at epoch 1)',
    );
  });

  test('max mode: the baseline must be exceeded', async () => {
    const run = await runScripted(
      { val_accuracy: [0.5, 0.6, 0.59, 0.58] },
      { monitor: 'val_accuracy', patience: 2, baseline: 0.55 },
    );
    expect(run.epochs).toBe(4);
    expect(run.api.stoppedEpoch).toBe(3);
  });
});

describe('Lightning thresholds', () => {
  test('stoppingThreshold stops as soon as the value is better than it, and that epoch is the best', async () => {
    const run = await runScripted(
      { val_loss: [1, 0.6, 0.5, 0.45, 0.3] },
      { patience: 10, stoppingThreshold: 0.5 },
    );
    expect(run.epochs).toBe(4);
    expect(run.stopReason?.message).toBe('val_loss = 0.45 reached the stopping threshold 0.5');
    expect(run.api.bestEpoch).toBe(3);
  });

  test('divergenceThreshold stops as soon as the value is worse than it (equal is not)', async () => {
    const run = await runScripted({ val_loss: [1, 2, 2.5, 0.1] }, { patience: 10, divergenceThreshold: 2 });
    expect(run.epochs).toBe(3);
    expect(run.stopReason?.message).toBe(
      'val_loss = 2.5 is worse than the divergence threshold 2: training diverged',
    );
  });

  test('max mode thresholds point the other way', async () => {
    const run = await runScripted(
      { val_accuracy: [0.5, 0.2, 0.9] },
      { monitor: 'val_accuracy', patience: 5, divergenceThreshold: 0.3, stoppingThreshold: 0.95 },
    );
    expect(run.epochs).toBe(2);
    expect(run.stopReason?.message).toContain('divergence threshold 0.3');
  });
});

describe('non-finite values', () => {
  test.each([
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ])('%s stops at once with checkFinite (the default), whatever the patience', async (bad) => {
    const run = await runScripted({ val_loss: [1, 0.9, bad, 0.5] }, { patience: 10 });
    expect(run.epochs).toBe(3);
    expect(run.stopReason?.message).toBe(
      `val_loss = ${String(bad)} is not finite (best val_loss 0.9 at epoch 1)`,
    );
    expect(run.api.bestEpoch).toBe(1);
  });

  test('with checkFinite: false, NaN is an epoch without improvement', async () => {
    const run = await runScripted(
      { val_loss: [1, Number.NaN, 0.9, Number.NaN, Number.NaN] },
      {
        patience: 2,
        checkFinite: false,
      },
    );
    expect(run.epochs).toBe(5);
    const api = run.api;
    expect([api.best, api.bestEpoch, api.stoppedEpoch]).toEqual([0.9, 2, 4]);
  });
});

describe('startFromEpoch', () => {
  test('epochs of the warm-up are not watched', async () => {
    const values = { val_loss: [1, 2, 3, 2.5, 2.6, 2] };
    const plain = await runScripted(values, { patience: 1 });
    expect(plain.epochs).toBe(2);
    const warm = await runScripted(values, { patience: 1, startFromEpoch: 2 });
    expect(warm.epochs).toBe(5);
    const api = warm.api;
    expect([api.best, api.bestEpoch, api.stoppedEpoch]).toEqual([2.5, 3, 4]);
    expect(warm.messages[0]).toBe('warming up: val_loss = 1, watching from epoch 2');
  });

  test('counts epochs of each fit (a second fit warms up again)', async () => {
    const es = earlyStopping({ startFromEpoch: 2 });
    const trainer = tinyTrainer([script({ val_loss: [1, 0.5, 9, 9, 8, 9] }), es]);
    const data = tinyData();
    await trainer.fit(data, { epochs: 2 });
    expect(es.api!.best).toBeUndefined();
    const second = await trainer.fit(data, { epochs: 4 });
    expect(second.history.map((h) => h.epoch)).toEqual([2, 3, 4, 5]);
    expect(es.api!.stoppedEpoch).toBe(5);
    expect(es.api!.bestEpoch).toBe(4);
    tf.dispose([data.x, data.y]);
  });
});

describe('max mode', () => {
  test("mode 'auto' maximizes accuracy-like keys; mode 'max' any key", async () => {
    const auto = await runScripted({ val_acc: [0.5, 0.6, 0.55, 0.58] }, { monitor: 'val_acc' });
    expect([auto.epochs, auto.api.best]).toEqual([3, 0.6]);
    const explicit = await runScripted({ score: [1, 3, 2] }, { monitor: 'score', mode: 'max' });
    expect([explicit.epochs, explicit.api.bestEpoch]).toEqual([3, 1]);
    const min = await runScripted({ score: [1, 3, 2] }, { monitor: 'score', mode: 'min' });
    expect([min.epochs, min.api.bestEpoch]).toEqual([2, 0]);
  });
});

describe("mode 'auto'", () => {
  test('reads the direction from the key (Keras test_early_stopping cases, plus auc/precision/recall/iou)', async () => {
    // keras/src/callbacks/early_stopping_test.py test_early_stopping: (auto, val_mse) → min, (auto, loss) → min,
    // (auto, acc) → max, (auto, val_accuracy) → max, (auto, hinge) → min, (auto, f1_score) → max
    const cases: [string, 'min' | 'max'][] = [
      ['val_mse', 'min'],
      ['loss', 'min'],
      ['acc', 'max'],
      ['val_accuracy', 'max'],
      ['hinge', 'min'],
      ['f1_score', 'max'],
      ['val_auc', 'max'],
      ['val_precision', 'max'],
      ['val_recall', 'max'],
      ['mean_iou', 'max'],
      ['val_mean_absolute_error', 'min'],
    ];
    for (const [monitor, mode] of cases) {
      const run = await runScripted({ [monitor]: [1, 2, 3] }, { monitor, patience: 0, verbose: false });
      expect([monitor, run.api.mode, run.epochs]).toEqual([monitor, mode, mode === 'max' ? 3 : 2]);
    }
  });

  test('uses the direction a metric spec declares', async () => {
    const plugin = earlyStopping({ monitor: 'val_score', verbose: false });
    const trainer = new Trainer({
      model: tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] }),
      loss: 'meanSquaredError',
      metrics: [{ name: 'score', fn: tf.metrics.meanAbsoluteError, direction: 'max' }],
      optimizer: tf.train.sgd(0.01),
      plugins: [script({ val_score: [1, 2, 3, 2.5] }), plugin],
      log: 'silent',
    });
    const data = tinyData();
    const result = await trainer.fit(data, { epochs: 4, validationData: data });
    tf.dispose([data.x, data.y]);
    expect(plugin.api!.mode).toBe('max');
    expect(result.stopReason?.time.epoch).toBe(3);
  });

  test('refuses a key it cannot read with TL_OPTION_INVALID, before the first training step (Keras: "unknown")', async () => {
    let steps = 0;
    const counter = definePlugin({
      name: 'test:steps',
      afterOptimizerStep: () => {
        steps += 1;
      },
    });
    const trainer = tinyTrainer([
      script({ val_unclear: [1, 2] }),
      earlyStopping({ monitor: 'val_unclear' }),
      counter,
    ]);
    const data = tinyData();
    const error = await trainer.fit(data, { epochs: 2 }).catch((e: unknown) => e);
    tf.dispose([data.x, data.y]);
    expect(isTensorloopError(error, 'TL_OPTION_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/val_unclear.*mode: 'max'.*mode: 'min'/s);
    expect(steps).toBe(0);
    expect(trainer.history).toHaveLength(0);
  });
});

describe('unknown monitor', () => {
  test('fails at fit start, before the first step, naming the closest key and the keys the fit logs', async () => {
    const entries: LogEntry[] = [];
    const trainer = tinyTrainer(
      // mode given: with 'auto' the typo would already be refused at construction (its direction is unreadable)
      [script({ val_loss: [1, 2] }), earlyStopping({ monitor: 'val_los', mode: 'min' })],
      entries,
    );
    const data = tinyData();
    const error = await trainer.fit(data, { epochs: 3 }).catch((e: unknown) => e);
    expect(isTensorloopError(error, 'TL_MONITOR_UNKNOWN')).toBe(true);
    expect((error as Error).message).toContain(
      'monitor "val_los" is not a key this fit logs; did you mean "val_loss"?',
    );
    expect((error as Error).message).toContain('This fit logs: loss, smooth_loss, lr, val_loss.');
    expect(trainer.history).toHaveLength(0);
    expect(trainer.time.step).toBe(0);
    tf.dispose([data.x, data.y]);
  });
});

describe('messages', () => {
  test('plain-language messages each epoch, through the core logger', async () => {
    const run = await runScripted(
      { val_loss: [1, 0.9, 0.95, 0.97, 1.1, 1.2], loss: [1, 0.8, 0.7, 0.6, 0.5, 0.4] },
      { patience: 5 },
    );
    expect(run.messages).toEqual([
      'val_loss = 1, the first value: best so far',
      'val_loss improved by 0.1 to 0.9: best so far',
      'no improvement in val_loss for 1 of 5 epochs (best 0.9 at epoch 1)',
      'no improvement in val_loss for 2 of 5 epochs (best 0.9 at epoch 1)',
      'val_loss rising for 2 epochs while loss falls: overfitting',
      'no improvement in val_loss for 3 of 5 epochs (best 0.9 at epoch 1)',
      'val_loss rising for 3 epochs while loss falls: overfitting',
      'no improvement in val_loss for 4 of 5 epochs (best 0.9 at epoch 1)',
      'val_loss rising for 4 epochs while loss falls: overfitting',
    ]);
  });

  test('the stop reason is logged and carries the trend', async () => {
    const run = await runScripted(
      { val_loss: [1, 0.9, 0.95, 0.97], loss: [1, 0.8, 0.7, 0.6] },
      { patience: 2 },
    );
    expect(run.stopReason?.message).toBe(
      'no improvement in val_loss for 2 epochs (best val_loss 0.9 at epoch 1); val_loss rising for 2 epochs while loss falls: overfitting',
    );
    expect(run.messages.at(-1)).toBe(`stopping: ${run.stopReason?.message}`);
  });

  test('verbose: false writes nothing', async () => {
    const run = await runScripted({ val_loss: [1, 0.9, 0.95, 0.97] }, { patience: 2, verbose: false });
    expect(run.epochs).toBe(4);
    expect(run.messages).toEqual([]);
  });
});

describe('stages', () => {
  const twoFits = async (persistAcrossFits: boolean) => {
    const es = earlyStopping({ patience: 1, persistAcrossFits, verbose: false });
    const trainer = tinyTrainer([script({ val_loss: [1, 0.5, 0.8, 0.9, 0.7] }), es]);
    const data = tinyData();
    await trainer.fit(data, { epochs: 2 });
    const second = await trainer.fit(data, { epochs: 3 });
    tf.dispose([data.x, data.y]);
    return { api: es.api!, second };
  };

  test('a new fit starts afresh: best and wait are reset', async () => {
    const { api, second } = await twoFits(false);
    expect(second.history.map((h) => h.epoch)).toEqual([2, 3]);
    expect([api.best, api.bestEpoch, api.stoppedEpoch]).toEqual([0.8, 2, 3]);
  });

  test('persistAcrossFits keeps them: the second fit has to beat the first', async () => {
    const { api, second } = await twoFits(true);
    expect(second.history.map((h) => h.epoch)).toEqual([2]);
    expect([api.best, api.bestEpoch, api.stoppedEpoch]).toEqual([0.5, 1, 2]);
  });

  test('partial epochs (another plugin cut one short) are not judged', async () => {
    const cut = definePlugin({
      name: 'test:cut',
      onBatchEnd: (ctx) => (ctx.time.epoch === 1 ? stopEpoch('cut') : undefined),
    });
    const es = earlyStopping({ verbose: false });
    const trainer = tinyTrainer([script({ val_loss: [1, 0.5, 1.2] }), cut, es]);
    const data = tinyData();
    const result = await trainer.fit(data, { epochs: 3 });
    expect(result.history).toHaveLength(3);
    const api = es.api!;
    expect([api.best, api.bestEpoch, api.stoppedEpoch]).toEqual([1, 0, 2]);
    tf.dispose([data.x, data.y]);
  });
});

describe('options', () => {
  test.each([
    [{ patience: -1 }, 'patience must be an integer ≥ 0'],
    [{ patience: 1.5 }, 'patience must be an integer ≥ 0'],
    [{ mode: 'up' as 'min' }, "mode must be 'auto', 'min' or 'max'"],
    [{ baseline: Number.NaN }, 'baseline must be a finite number'],
    [
      { stoppingThreshold: 2, divergenceThreshold: 1 },
      'stoppingThreshold (2) must be below divergenceThreshold (1)',
    ],
    [{ monitor: '' }, 'monitor must be a log key'],
    [{ maxStateBytes: -1 }, 'maxStateBytes must be a number ≥ 0'],
  ])('%o is refused with TL_OPTION_INVALID', (options, message) => {
    let error: unknown;
    try {
      earlyStopping(options);
    } catch (e) {
      error = e;
    }
    expect(isTensorloopError(error, 'TL_OPTION_INVALID')).toBe(true);
    expect((error as Error).message).toContain(message);
  });

  test('unknown option keys fail with TL_OPTION_INVALID naming the closest valid key', () => {
    const cases: [object, string, string][] = [
      [{ restore_best_weights: true }, 'restore_best_weights', 'restoreBestWeights'],
      [{ min_delta: 0.1 }, 'min_delta', 'minDelta'],
      [{ patiance: 2 }, 'patiance', 'patience'],
      [{ persistAcrossFit: true }, 'persistAcrossFit', 'persistAcrossFits'],
    ];
    for (const [options, bad, closest] of cases) {
      let error: unknown;
      try {
        earlyStopping(options as never);
      } catch (e) {
        error = e;
      }
      expect(isTensorloopError(error, 'TL_OPTION_INVALID')).toBe(true);
      expect((error as Error).message).toContain(`unknown option "${bad}"; did you mean "${closest}"?`);
    }
  });

  test('describe() lists the resolved options', () => {
    const plugin = earlyStopping({ monitor: 'val_accuracy', patience: 3, restoreBestWeights: true });
    expect(plugin.describe?.()).toEqual([
      'monitor val_accuracy (max), patience 3',
      'restores the best weights when the fit ends',
    ]);
  });
});
