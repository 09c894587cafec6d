import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { definePlugin, type LossFn, sgd, Trainer } from '@tensorloop/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { schedule } from './schedule-plugin.js';
import { cosine, linear, step, warmup } from './schedules.js';
import { classificationData, stepRecorder, tinyClassifier } from './test-helpers.js';

let data: { x: tf.Tensor2D; y: tf.Tensor2D };
beforeAll(async () => {
  await tf.setBackend('cpu');
  data = classificationData(64);
});
afterAll(() => tf.dispose([data.x, data.y]));

const cos = (from: number, to: number, i: number, n: number) =>
  to + ((from - to) * (1 + Math.cos((Math.PI * i) / n))) / 2;

function trainerWith(
  plugins: Parameters<typeof definePlugin>[0][],
  extra: Partial<ConstructorParameters<typeof Trainer>[0]> = {},
) {
  return new Trainer({
    model: tinyClassifier(),
    loss: 'categoricalCrossentropy',
    optimizer: sgd({ lr: 1, groups: [{ name: 'body', match: /^hidden\// }] }),
    plugins,
    log: 'silent',
    ...extra,
  });
}

describe('schedule(): the value at step k is the formula at k', () => {
  test('cosine per step over the fit: lr used by the optimizer at each of 24 steps', async () => {
    const rec = stepRecorder(['lr']);
    const trainer = trainerWith([schedule({ fn: cosine({ from: 0.1, to: 0.001 }) }), rec.plugin]);
    await trainer.fit(data, { epochs: 3, batchSize: 8 });
    expect(rec.rows.map((r) => r.lr)).toHaveLength(24);
    rec.rows.forEach((r, i) => {
      expect(r.lr!).toBeCloseTo(cos(0.1, 0.001, i, 24), 12);
    });
  });

  test('every epoch: StepLR halving each epoch, constant inside an epoch', async () => {
    const rec = stepRecorder(['lr']);
    const trainer = trainerWith([
      schedule({ fn: step({ from: 0.1, gamma: 0.5, every: 1 }), every: 'epoch' }),
      rec.plugin,
    ]);
    await trainer.fit(data, { epochs: 3, batchSize: 16 });
    expect(rec.rows.map((r) => r.lr)).toEqual([
      0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025,
    ]);
  });

  test('per-group: a multiplier for one group, a schedule of its own for another; describe() lists both', async () => {
    const body = stepRecorder(['lr'], 'body');
    const head = stepRecorder(['lr'], 'default');
    const s = schedule({
      fn: cosine({ from: 0.1, to: 0 }),
      groups: { body: 0.1, default: linear({ from: 0.2, to: 0.1 }) },
    });
    const trainer = trainerWith([
      s,
      { ...body.plugin, name: 'rec-body' },
      { ...head.plugin, name: 'rec-head' },
    ]);
    const lines = trainer.describe();
    expect(lines).toContain('lr (group body), set: start 0.01 → end');
    expect(lines).toContain('lr (group default), set: start 0.2 → end');
    await trainer.fit(data, { epochs: 2, batchSize: 8 });
    body.rows.forEach((r, i) => {
      expect(r.lr!).toBeCloseTo(0.1 * cos(0.1, 0, i, 16), 12);
    });
    head.rows.forEach((r, i) => {
      expect(r.lr!).toBeCloseTo(0.2 + (i / 16) * (0.1 - 0.2), 12);
    });
  });

  test('groups as a list writes only those groups; the others keep the optimizer value', async () => {
    const head = stepRecorder(['lr'], 'default');
    const trainer = trainerWith([schedule({ fn: 0.03, groups: ['body'] }), head.plugin]);
    await trainer.fit(data, { epochs: 1, batchSize: 16 });
    expect(trainer.hparams.get('lr', { group: 'body' })).toBe(0.03);
    expect(head.rows.every((r) => r.lr === 1)).toBe(true);
  });

  test('a user value (loss weight) read by a custom loss goes 1 → 0', async () => {
    const seen: number[] = [];
    const loss: LossFn = (yTrue, yPred, { hparams }) => {
      const w = hparams.get('lossWeight.main');
      seen.push(w);
      return tf.mul(w, tf.metrics.categoricalCrossentropy(yTrue, yPred));
    };
    const trainer = trainerWith([schedule({ hparam: 'lossWeight.main', fn: linear({ from: 1, to: 0 }) })], {
      loss,
      hparams: { 'lossWeight.main': 1 },
    });
    await trainer.fit(data, { epochs: 2, batchSize: 16 });
    expect(seen).toEqual([1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125]);
  });

  test('two set schedules of one value fail at construction; a multiply warmup composes with a set schedule', async () => {
    expect(() => trainerWith([schedule({ fn: 0.1 }), schedule({ fn: 0.2, name: 'second' })])).toThrow(
      /TL_HPARAM_CONFLICT.*second/,
    );
    const rec = stepRecorder(['lr']);
    let explained = '';
    const reader = definePlugin({
      name: 'reader',
      afterOptimizerStep(ctx) {
        if (ctx.time.step === 1) explained = ctx.hparams.explain('lr').text;
      },
    });
    const trainer = trainerWith([
      schedule({ fn: cosine({ from: 0.1, to: 0 }) }),
      schedule({ fn: linear({ from: 0, to: 1 }), mode: 'multiply', total: 4, name: 'warm' }),
      rec.plugin,
      reader,
    ]);
    await trainer.fit(data, { epochs: 1, batchSize: 8 });
    rec.rows.forEach((r, i) => {
      expect(r.lr!).toBeCloseTo(cos(0.1, 0, i, 8) * Math.min(1, i / 4), 12);
    });
    expect(explained).toMatch(
      /^lr\(group default\) = 0\.0\d+ = 0\.0\d+ \(set by @tensorloop\/lr-schedules:schedule\(lr\)\) × 0\.25 \(multiply by warm\)$/,
    );
  });

  test('gradient accumulation: the schedule counts optimizer steps, not micro-batches', async () => {
    const rec = stepRecorder(['lr']);
    const trainer = trainerWith([schedule({ fn: cosine({ from: 0.1, to: 0 }) }), rec.plugin], {
      accumulateBatches: 2,
    });
    await trainer.fit(data, { epochs: 2, batchSize: 8 }); // 8 batches/epoch → 4 steps/epoch → 8 steps
    expect(rec.rows).toHaveLength(8);
    rec.rows.forEach((r, i) => {
      expect(r.lr!).toBeCloseTo(cos(0.1, 0, i, 8), 12);
    });
  });

  test("over 'run' continues across fits; over 'fit' restarts", async () => {
    const rec = stepRecorder(['lr']);
    const trainer = trainerWith([
      schedule({ fn: linear({ from: 1, to: 0 }), over: 'run', total: 8 }),
      rec.plugin,
    ]);
    await trainer.fit(data, { epochs: 1, batchSize: 16 });
    await trainer.fit(data, { epochs: 1, batchSize: 16 });
    expect(rec.rows.map((r) => r.lr)).toEqual([1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125]);
    const again = stepRecorder(['lr']);
    const perFit = trainerWith([schedule({ fn: linear({ from: 1, to: 0 }) }), again.plugin]);
    await perFit.fit(data, { epochs: 1, batchSize: 16 });
    await perFit.fit(data, { epochs: 1, batchSize: 16 });
    expect(again.rows.map((r) => r.lr)).toEqual([1, 0.75, 0.5, 0.25, 1, 0.75, 0.5, 0.25]);
  });

  test('warmup then cosine (HF shape) through the trainer', async () => {
    const rec = stepRecorder(['lr']);
    const trainer = trainerWith([
      schedule({ fn: warmup(cosine({ from: 0.1, to: 0 }), { steps: 4 }) }),
      rec.plugin,
    ]);
    await trainer.fit(data, { epochs: 2, batchSize: 8 });
    rec.rows.forEach((r, i) => {
      expect(r.lr!).toBeCloseTo(i < 4 ? 0.1 * (i / 4) : cos(0.1, 0, i - 4, 12), 12);
    });
  });

  test('an unknown value or group fails at fit start with TL_SCHEDULE_INVALID, naming what exists', async () => {
    const bad = trainerWith([schedule({ hparam: 'lossWeight.aux', fn: 1 })]);
    await expect(bad.fit(data, { epochs: 1 })).rejects.toThrow(
      /TL_SCHEDULE_INVALID.*lossWeight\.aux.*hparams/,
    );
    const badGroup = trainerWith([schedule({ fn: 1, groups: ['nope'] })]);
    await expect(badGroup.fit(data, { epochs: 1 })).rejects.toThrow(
      /group 'nope' does not exist \(groups: body, default\)/,
    );
  });

  test('unknown option keys fail with TL_OPTION_INVALID naming the closest valid key', () => {
    expect(() => schedule({ fn: 0.1, hparams: 'lr' } as never)).toThrow(
      /TL_OPTION_INVALID.*schedule\(\): unknown option "hparams"; did you mean "hparam"\?/,
    );
    expect(() => schedule({ fn: 0.1, every: 'epoch', overr: 'run' } as never)).toThrow(
      /did you mean "over"\?/,
    );
  });

  test('no tensors leak', async () => {
    const trainer = trainerWith([schedule({ fn: cosine({ from: 0.1, to: 0 }) })]);
    await trainer.fit(data, { epochs: 1, batchSize: 16 }); // creates the optimizer slots
    const before = tf.memory().numTensors;
    await trainer.fit(data, { epochs: 2, batchSize: 16 });
    expect(tf.memory().numTensors).toBe(before);
  });

  test('save mid-fit and resume in a new trainer: the same lr at every later step', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tl-sched-'));
    try {
      const straight = stepRecorder(['lr']);
      await trainerWith([schedule({ fn: cosine({ from: 0.1, to: 0.001 }) }), straight.plugin]).fit(data, {
        epochs: 3,
        batchSize: 16,
      });
      const saver = definePlugin({
        name: 'saver',
        enforce: 'post',
        async onBatchEnd(ctx) {
          if (ctx.time.step === 6) await ctx.save(dir);
        },
      });
      await trainerWith([schedule({ fn: cosine({ from: 0.1, to: 0.001 }) }), saver]).fit(data, {
        epochs: 3,
        batchSize: 16,
      });
      const resumed = stepRecorder(['lr']);
      const fresh = trainerWith([schedule({ fn: cosine({ from: 0.1, to: 0.001 }) }), resumed.plugin]);
      await fresh.fit(data, { epochs: 3, batchSize: 16, resumeFrom: dir });
      expect(resumed.rows.map((r) => r.step)).toEqual([6, 7, 8, 9, 10, 11]); // step indices (counted after the update)
      expect(resumed.rows.map((r) => r.lr)).toEqual(straight.rows.slice(6).map((r) => r.lr));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
