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
const feeder = (values: readonly number[]) =>
  definePlugin({
    name: 'test:feeder',
    onEpochEnd(_ctx, e) {
      e.logs.metric = values[e.epoch];
    },
  });

async function runPlateau(values: readonly number[], options: ReduceOnPlateauOptions, extra: Plugin[] = []) {
  const plateau = reduceOnPlateau({ monitor: 'metric', ...options });
  const trainer = new Trainer({
    model: tinyClassifier(),
    loss: 'categoricalCrossentropy',
    optimizer: sgd({ lr: 0.1 }),
    plugins: [feeder(values), plateau, ...extra],
    log: 'silent',
  });
  await trainer.fit(data, { epochs: values.length, batchSize: 32 });
  const api = plateau.api as PlateauApi;
  return { api, trainer, plateau, epochs: api.reductions().map((r) => r.epoch) };
}

describe('reduceOnPlateau follows PyTorch ReduceLROnPlateau', () => {
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
    const { api, trainer, epochs } = await runPlateau(seq, { patience: 2, factor: 0.5 });
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
    expect((await runPlateau(flat, { patience: 1 })).epochs).toEqual([2, 4, 6]);
    expect((await runPlateau(flat, { patience: 1, cooldown: 2 })).epochs).toEqual([2, 6]);
  });

  test('threshold modes decide what counts as better; max mode for accuracy-like monitors', async () => {
    const creeping = [1, 0.99996, 0.99992, 0.99988, 0.99984];
    expect(
      (await runPlateau(creeping, { patience: 1, thresholdMode: 'rel', threshold: 1e-4 })).epochs,
    ).toEqual([2]);
    expect(
      (await runPlateau(creeping, { patience: 1, thresholdMode: 'abs', threshold: 1e-6 })).epochs,
    ).toEqual([]);
    const acc = [0.5, 0.6, 0.6, 0.6, 0.7];
    const r = await runPlateau(acc, { patience: 1, mode: 'max' });
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
    const first = await runPlateau(seq.slice(0, 4), { patience: 2, factor: 0.5 });
    const saved = JSON.parse(JSON.stringify(first.plateau.state!())) as PlateauState;
    expect(saved).toMatchObject({ best: 0.9, badEpochs: 2, cooldownLeft: 0 });
    const restored = reduceOnPlateau({ monitor: 'metric', patience: 2, factor: 0.5 });
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
