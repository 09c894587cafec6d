import * as tf from '@tensorflow/tfjs';
import { definePlugin, type Plugin, sgd, Trainer } from '@tensorloop/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  improves,
  type PlateauApi,
  type PlateauState,
  type ReduceOnPlateauOptions,
  reduceOnPlateau,
} from './plateau.js';
import { schedule } from './schedule-plugin.js';
import { cosine } from './schedules.js';
import { classificationData, stepRecorder, tinyClassifier } from './test-helpers.js';

let data: { x: tf.Tensor2D; y: tf.Tensor2D };
beforeAll(async () => {
  await tf.setBackend('cpu');
  data = classificationData(32);
});
afterAll(() => tf.dispose([data.x, data.y]));

/** Writes a scripted `metric` into each epoch's logs (runs before the plateau plugin). */
const feeder = (values: readonly number[], key = 'metric') =>
  definePlugin({
    name: 'test:feeder',
    logKeys: [key],
    onEpochEnd(_ctx, e) {
      e.logs[key] = values[e.epoch]!;
    },
  });

/** The lr after each epoch's decision (a post-tier plugin reads it after the plateau plugin). */
const lrAfterEpoch = (into: number[]) =>
  definePlugin({
    name: 'test:lr-after-epoch',
    enforce: 'post',
    onEpochEnd(ctx) {
      into.push(ctx.hparams.get('lr'));
    },
  });

async function runPlateau(
  values: readonly number[],
  options: ReduceOnPlateauOptions,
  extra: Plugin[] = [],
  lr = 0.1,
) {
  // `metric` says nothing about its direction: these tests give `mode` unless they test `auto`.
  const plateau = reduceOnPlateau({ monitor: 'metric', mode: 'min', ...options });
  const lrs: number[] = [];
  const trainer = new Trainer({
    model: tinyClassifier(),
    loss: 'categoricalCrossentropy',
    optimizer: sgd({ lr }),
    plugins: [feeder(values), plateau, lrAfterEpoch(lrs), ...extra],
    log: 'silent',
  });
  await trainer.fit(data, { epochs: values.length, batchSize: 32 });
  const api = plateau.api as PlateauApi;
  return { api, trainer, plateau, lrs, epochs: api.reductions().map((r) => r.epoch) };
}

const closeTo = (values: readonly number[], digits = 12) => values.map((v) => expect.closeTo(v, digits));

describe("reduceOnPlateau counts patience as Keras's ReduceLROnPlateau (the default)", () => {
  // keras/src/callbacks/reduce_lr_on_plateau_test.py: Adam(0.1), monitor val_loss, min_delta 100 (nothing
  // after the first epoch improves). Keras's min_delta is an absolute threshold: thresholdMode 'abs'.
  const keras = { factor: 0.1, patience: 1, thresholdMode: 'abs' as const };
  test('test_reduces_lr_with_model_fit: patience 1, 2 epochs → lr 0.01', async () => {
    const r = await runPlateau([1, 1], { ...keras, threshold: 100 });
    expect(r.trainer.hparams.get('lr')).toBeCloseTo(0.01, 15);
  });

  test('test_cooldown: patience 1, cooldown 2, 4 epochs → two reductions, lr 0.001', async () => {
    const r = await runPlateau([1, 1, 1, 1], { ...keras, threshold: 100, cooldown: 2 });
    expect(r.epochs).toEqual([1, 3]);
    expect(r.trainer.hparams.get('lr')).toBeCloseTo(0.001, 15);
  });

  test('test_honors_min_lr: patience 1, min_lr 0.005, 4 epochs → lr 0.005', async () => {
    const r = await runPlateau([1, 1, 1, 1], { ...keras, threshold: 10, minLr: 0.005 });
    expect(r.lrs).toEqual(closeTo([0.1, 0.01, 0.005, 0.005], 15));
  });

  test("PyTorch's test_reduce_lr_on_plateau2 sequence: Keras reduces one epoch earlier each time", async () => {
    // metrics 10 − 0.0165·i, patience 5, threshold 0.1 abs, base lr 0.5. Keras 3.15 ReduceLROnPlateau
    // (min_delta 0.1) on this sequence gives the lr after each epoch below; PyTorch (test_reduce_lr_on_plateau2)
    // gives the second list.
    const metrics = Array.from({ length: 22 }, (_, i) => 10 - i * 0.0165);
    const options = { patience: 5, threshold: 0.1, thresholdMode: 'abs' as const };
    const kerasLrs = [
      ...Array(5).fill(0.5),
      ...Array(7).fill(0.05),
      ...Array(7).fill(0.005),
      ...Array(3).fill(0.0005),
    ];
    const torchLrs = [...Array(6).fill(0.5), ...Array(7).fill(0.05), ...Array(7).fill(0.005), 0.0005, 0.0005];
    const k = await runPlateau(metrics, options, [], 0.5);
    expect(k.epochs).toEqual([5, 12, 19]);
    expect(k.lrs).toEqual(closeTo(kerasLrs));
    const t = await runPlateau(metrics, { ...options, counting: 'pytorch' }, [], 0.5);
    expect(t.epochs).toEqual([6, 13, 20]);
    expect(t.lrs).toEqual(closeTo(torchLrs));
  });

  test("the README's migration line: pytorch (patience p, cooldown c) = keras (p + 1, c + 1)", async () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const [p, c] of [
      [0, 0],
      [1, 2],
      [2, 1],
    ] as const) {
      // a noisy, slowly improving curve: plateaus, improvements inside cooldowns, and reductions
      const values = Array.from({ length: 30 }, (_, i) => 1 - 0.003 * i + 0.05 * random());
      const torch = await runPlateau(values, { patience: p, cooldown: c, counting: 'pytorch' });
      const keras = await runPlateau(values, { patience: p + 1, cooldown: c + 1 });
      expect([p, c, keras.epochs]).toEqual([p, c, torch.epochs]);
      expect(torch.epochs.length).toBeGreaterThan(1);
    }
  });

  test('flat values, patience 1: every bad epoch reduces; cooldown 2 skips one epoch (Keras)', async () => {
    // Keras 3.15 on eight equal values, min_delta 0: reductions after epochs 1..7; with cooldown 2 after 1, 3, 5, 7
    const flat = [1, 1, 1, 1, 1, 1, 1, 1];
    expect((await runPlateau(flat, { patience: 1, threshold: 0, thresholdMode: 'abs' })).epochs).toEqual([
      1, 2, 3, 4, 5, 6, 7,
    ]);
    expect(
      (await runPlateau(flat, { patience: 1, threshold: 0, thresholdMode: 'abs', cooldown: 2 })).epochs,
    ).toEqual([1, 3, 5, 7]);
  });
});

describe('reduceOnPlateau resets best, wait and cooldown at every fit (Keras), keeping its factors', () => {
  const probe = (seen: { best: number | undefined; state: PlateauState }[]) =>
    definePlugin({
      name: 'test:probe',
      after: ['@tensorloop/lr-schedules:plateau'],
      onFitStart(ctx) {
        const api = ctx.plugin('@tensorloop/lr-schedules:plateau') as PlateauApi;
        seen.push({ best: api.best(), state: stateOf!() });
      },
    });
  let stateOf: (() => PlateauState) | undefined;

  const twoFits = async (options: ReduceOnPlateauOptions) => {
    const plateau = reduceOnPlateau({
      monitor: 'metric',
      mode: 'min',
      patience: 1,
      cooldown: 2,
      factor: 0.5,
      ...options,
    });
    stateOf = () => plateau.state!() as PlateauState;
    const seen: { best: number | undefined; state: PlateauState }[] = [];
    const lrs: number[] = [];
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: sgd({ lr: 0.1 }),
      plugins: [feeder([1, 1, 1, 5, 5, 5]), plateau, probe(seen), lrAfterEpoch(lrs)],
      log: 'silent',
    });
    await trainer.fit(data, { epochs: 3, batchSize: 32 });
    await trainer.fit(data, { epochs: 3, batchSize: 32 });
    return { seen, lrs, api: plateau.api as PlateauApi };
  };

  test('test_state_reset_across_fit_calls: the second fit starts with no best, wait 0, cooldown 0', async () => {
    const { seen, api } = await twoFits({});
    expect(seen).toHaveLength(2);
    const second = seen[1]!;
    expect(second.best).toBeUndefined();
    expect(second.state).toMatchObject({ best: null, badEpochs: 0, cooldownLeft: 0 });
    // the factor applied in the first fit is kept (Keras keeps the lowered lr on the optimizer)
    expect(second.state.factors).toEqual({ default: 0.5 });
    // the second fit's first value (5, worse than the first fit's best 1) is a first value, not a bad epoch
    expect(api.reductions().map((r) => r.epoch)).toEqual([1, 4]);
  });

  test('persistAcrossFits: true keeps them, as in early stopping', async () => {
    const { seen, api } = await twoFits({ persistAcrossFits: true });
    expect(seen[1]!.best).toBe(1);
    expect(seen[1]!.state.cooldownLeft).toBe(1);
    expect(api.reductions().map((r) => r.epoch)).toEqual([1, 3, 5]);
  });
});

describe('reduceOnPlateau with counting: pytorch follows PyTorch ReduceLROnPlateau', () => {
  test('_is_better in the four (mode, threshold mode) combinations', () => {
    expect(improves(0.99995, 1, 'min', 'rel', 1e-4)).toBe(false); // needs < 0.9999
    expect(improves(0.99989, 1, 'min', 'rel', 1e-4)).toBe(true);
    expect(improves(0.99995, 1, 'min', 'abs', 1e-6)).toBe(true); // needs < 0.999999
    expect(improves(1.00005, 1, 'max', 'rel', 1e-4)).toBe(false); // needs > 1.0001
    expect(improves(1.0002, 1, 'max', 'abs', 1e-4)).toBe(true);
  });

  test('reduces after patience + 1 bad epochs, resets the count, and composes as a factor', async () => {
    // best 1, .9; then .95 ×3 are bad (3 > patience 2) → reduce at epoch 4; .8 improves; 3 bad → epoch 8
    const seq = [1, 0.9, 0.95, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8];
    const { api, trainer, epochs } = await runPlateau(seq, { patience: 2, factor: 0.5, counting: 'pytorch' });
    expect(epochs).toEqual([4, 8]);
    expect(api.factor()).toBeCloseTo(0.25, 15);
    expect(api.best()).toBe(0.8);
    expect(trainer.hparams.get('lr')).toBeCloseTo(0.025, 15);
    expect(trainer.hparams.explain('lr').text).toBe(
      'lr(group default) = 0.025 = 0.1 (base) × 0.25 (multiply by @tensorloop/lr-schedules:plateau)',
    );
  });

  test('cooldown: bad epochs are not counted for `cooldown` epochs after a reduction', async () => {
    const flat = [1, 1, 1, 1, 1, 1, 1, 1];
    expect((await runPlateau(flat, { patience: 1, counting: 'pytorch' })).epochs).toEqual([2, 4, 6]);
    expect((await runPlateau(flat, { patience: 1, cooldown: 2, counting: 'pytorch' })).epochs).toEqual([
      2, 6,
    ]);
  });

  test('threshold modes decide what counts as better; max mode for accuracy-like monitors', async () => {
    const creeping = [1, 0.99996, 0.99992, 0.99988, 0.99984];
    expect(
      (
        await runPlateau(creeping, {
          patience: 1,
          thresholdMode: 'rel',
          threshold: 1e-4,
          counting: 'pytorch',
        })
      ).epochs,
    ).toEqual([2]);
    expect(
      (
        await runPlateau(creeping, {
          patience: 1,
          thresholdMode: 'abs',
          threshold: 1e-6,
          counting: 'pytorch',
        })
      ).epochs,
    ).toEqual([]);
    const acc = [0.5, 0.6, 0.6, 0.6, 0.7];
    const r = await runPlateau(acc, { patience: 1, mode: 'max', counting: 'pytorch' });
    expect(r.epochs).toEqual([3]);
  });

  test('minLr floors the value; a change below eps is skipped', async () => {
    const { api, trainer } = await runPlateau([1, 1, 1, 1, 1, 1], { patience: 0, factor: 0.1, minLr: 0.05 });
    expect(api.reductions()).toEqual([{ epoch: 1, group: 'default', from: 0.1, to: 0.05 }]);
    expect(trainer.hparams.get('lr')).toBeCloseTo(0.05, 15);
  });

  test('multiplies a running cosine instead of overriding it', async () => {
    const rec = stepRecorder(['lr']);
    const seq = [1, 1, 1, 1];
    const { epochs } = await runPlateau(seq, { patience: 0, factor: 0.5 }, [
      schedule({ fn: cosine({ from: 0.1, to: 0 }) }),
      rec.plugin,
    ]);
    expect(epochs).toEqual([1, 2, 3]);
    const cos = (i: number) => (0.1 * (1 + Math.cos((Math.PI * i) / 4))) / 2;
    // one step per epoch: epoch e trains with cosine(e) × 0.5^(reductions at the ends of earlier epochs)
    expect(rec.rows.map((r) => r.lr)).toEqual(
      [cos(0), cos(1), cos(2) * 0.5, cos(3) * 0.25].map((v) => expect.closeTo(v, 12)),
    );
  });

  test('state round trip: a restored plugin continues the same decisions', async () => {
    const seq = [1, 0.9, 0.95, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8];
    const first = await runPlateau(seq.slice(0, 4), { patience: 2, factor: 0.5, counting: 'pytorch' });
    const saved = JSON.parse(JSON.stringify(first.plateau.state!())) as PlateauState;
    expect(saved).toMatchObject({ best: 0.9, badEpochs: 2, cooldownLeft: 0 });
    // loadState outside a resumed fit: persistAcrossFits keeps what was loaded (a new fit starts afresh otherwise)
    const restored = reduceOnPlateau({
      monitor: 'metric',
      mode: 'min',
      patience: 2,
      factor: 0.5,
      counting: 'pytorch',
      persistAcrossFits: true,
    });
    restored.loadState!(restored.parseState!(saved, undefined), undefined, {});
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: sgd({ lr: 0.1 }),
      plugins: [feeder(seq.slice(4)), restored],
      log: 'silent',
    });
    await trainer.fit(data, { epochs: 6, batchSize: 32 });
    // epoch 0 of this trainer is epoch 4 of the sequence: the third bad epoch → reduction at once
    expect((restored.api as PlateauApi).reductions().map((r) => r.epoch)).toEqual([0, 4]);
    expect(() => restored.parseState!({ ...saved, best: 'x' }, undefined)).toThrow(
      /state\.best must be a number or null/,
    );
    expect(() => restored.parseState!({ ...saved, reductions: [{ epoch: 1.5 }] }, undefined)).toThrow(
      /state\.reductions\[0\]\.epoch must be an integer/,
    );
  });

  test('test_reduce_lr_on_plateau3: max mode, patience 5, cooldown 5 (PyTorch targets)', async () => {
    // PyTorch test/optim/test_lrscheduler.py test_reduce_lr_on_plateau3: metrics [-0.8]·2 + [-0.234]·20,
    // mode max, patience 5, cooldown 5, threshold_mode abs (threshold 1e-4), lr 0.5; targets
    // [0.5]·(2 + 6) + [0.05]·(5 + 6) + [0.005]·4, the lr after each epoch.
    const metrics = [-0.8, -0.8, ...Array(20).fill(-0.234)];
    const targets = [...Array(8).fill(0.5), ...Array(11).fill(0.05), ...Array(4).fill(0.005)].slice(0, 22);
    const r = await runPlateau(
      metrics,
      { mode: 'max', patience: 5, cooldown: 5, thresholdMode: 'abs', counting: 'pytorch' },
      [],
      0.5,
    );
    expect(r.lrs).toEqual(closeTo(targets));
  });

  test('a missing monitor key fails with TL_MONITOR_UNKNOWN listing the keys', async () => {
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: sgd({ lr: 0.1 }),
      plugins: [reduceOnPlateau()],
      log: 'silent',
    });
    await expect(trainer.fit(data, { epochs: 1, batchSize: 32 })).rejects.toThrow(/val_loss/);
  });
});

describe("mode 'auto' and option checks", () => {
  const autoRun = async (monitor: string, metrics?: ConstructorParameters<typeof Trainer>[0]['metrics']) => {
    const plateau = reduceOnPlateau({ monitor, patience: 0, factor: 0.5 });
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: sgd({ lr: 0.1 }),
      ...(metrics ? { metrics } : {}),
      plugins: [feeder([0.5, 0.6, 0.7], monitor), plateau],
      log: 'silent',
    });
    await trainer.fit(data, { epochs: 3, batchSize: 32 });
    // rising values: no reduction when maximized, one per epoch after the first when minimized
    return (plateau.api as PlateauApi).reductions().length === 0 ? 'max' : 'min';
  };

  test('auto maximizes accuracy/auc/f1-like keys and minimizes loss/error-like keys (Keras test_early_stopping cases)', async () => {
    // keras/src/callbacks/early_stopping_test.py test_early_stopping: val_mse → min, loss → min, acc → max,
    // val_accuracy → max, hinge → min, f1_score → max; plus the keys of issue 12.
    const cases: [string, 'min' | 'max'][] = [
      ['val_mse', 'min'],
      ['loss', 'min'],
      ['acc', 'max'],
      ['val_accuracy', 'max'],
      ['hinge', 'min'],
      ['f1_score', 'max'],
      ['val_auc', 'max'],
      ['val_precision', 'max'],
      ['recall', 'max'],
      ['val_iou', 'max'],
      ['val_error', 'min'],
    ];
    for (const [monitor, mode] of cases) expect([monitor, await autoRun(monitor)]).toEqual([monitor, mode]);
  });

  test('a metric spec may carry the direction auto uses', async () => {
    const score = { name: 'score', fn: tf.metrics.categoricalAccuracy, direction: 'max' as const };
    expect(await autoRun('score', [score])).toBe('max');
  });

  test('auto refuses a key whose direction it cannot tell, before the first training step', async () => {
    let steps = 0;
    const counter = definePlugin({
      name: 'test:steps',
      afterOptimizerStep() {
        steps += 1;
      },
    });
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: sgd({ lr: 0.1 }),
      plugins: [feeder([1, 1], 'val_unclear'), reduceOnPlateau({ monitor: 'val_unclear' }), counter],
      log: 'silent',
    });
    const error = await trainer.fit(data, { epochs: 2, batchSize: 8 }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('TL_OPTION_INVALID');
    expect((error as Error).message).toMatch(/val_unclear.*mode: 'max'.*mode: 'min'/s);
    expect(steps).toBe(0);
    expect(trainer.history).toHaveLength(0);
  });

  test('unknown option keys fail with TL_OPTION_INVALID naming the closest valid key', () => {
    expect(() => reduceOnPlateau({ min_lr: 0.01 } as never)).toThrow(
      /TL_OPTION_INVALID.*unknown option "min_lr"; did you mean "minLr"\?/,
    );
    expect(() => reduceOnPlateau({ patient: 3 } as never)).toThrow(/did you mean "patience"\?/);
  });
});
