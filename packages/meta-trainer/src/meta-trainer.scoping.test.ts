// Stage plugins: events only during their stage, hyperparameter writes that end with it, early
// stopping that ends its stage only, stopRun that ends the run, ordering errors before training.
import * as tf from '@tensorflow/tfjs';
import { definePlugin, isTensorloopError } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import { beforeAll, describe, expect, test } from 'vitest';
import { MetaTrainer } from './meta-trainer.js';
import { tasks, tinyTrainer, tracer } from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Writes scripted values into the epoch logs by global epoch (runs before the plugins that read them). */
const script = (values: Record<string, readonly number[]>) =>
  definePlugin({
    name: 'test:script',
    logKeys: Object.keys(values),
    enforce: 'pre',
    onEpochEnd(_ctx, event) {
      for (const [key, series] of Object.entries(values)) {
        const v = series[event.epoch];
        if (v !== undefined) event.logs[key] = v;
      }
    },
  });

describe('stage plugin scoping', () => {
  test('a plugin given to several stages sees each of them; nothing in between', async () => {
    const log: string[] = [];
    const shared = tracer('shared', log);
    const [a, b, c] = tasks();
    await new MetaTrainer(tinyTrainer(), { stagePlugins: { 0: [shared], 2: [shared] } }).run([
      { data: a!, epochs: 1, batchSize: 20 },
      { data: b!, epochs: 2, batchSize: 20 },
      { data: c!, epochs: 1, batchSize: 20 },
    ]);
    expect(log.filter((l) => l.includes('epochEnd') || l.includes('stage'))).toEqual([
      'shared:stageStart(0,stage 0)',
      'shared:epochEnd(0)',
      'shared:stageEnd(0,stage 0)',
      'shared:stageStart(2,stage 2)',
      'shared:epochEnd(3)',
      'shared:stageEnd(2,stage 2)',
    ]);
  });

  test("a stage's hyperparameter schedule ends with its stage; the next stage trains at the base value", async () => {
    const lrs: [number, number][] = [];
    const warmup = definePlugin({
      name: 'test:half-lr',
      hparams: [{ name: 'lr', mode: 'multiply' }],
      onEpochStart: (ctx) => ctx.hparams.set('lr', 0.5),
    });
    const setter = definePlugin({
      name: 'test:lr-set',
      hparams: [{ name: 'lr', mode: 'set' }],
      onEpochStart: (ctx) => ctx.hparams.set('lr', 0.02),
    });
    const watch = definePlugin({
      name: 'watch',
      enforce: 'post',
      onBatchEnd: (ctx) => void lrs.push([ctx.time.stage, ctx.hparams.get('lr')]),
    });
    const [a, b, c] = tasks();
    await new MetaTrainer(tinyTrainer({ plugins: [watch] })).run([
      { data: a!, epochs: 1, batchSize: 20, plugins: [warmup] },
      { data: b!, epochs: 1, batchSize: 20, plugins: [{ ...setter }] },
      // Another 'set' writer of lr in a later stage is no conflict: the first one left with its stage.
      { data: c!, epochs: 1, batchSize: 20, plugins: [{ ...setter, name: 'test:lr-set-2' }] },
    ]);
    expect(lrs).toEqual([
      [0, 0.05],
      [1, 0.02],
      [2, 0.02],
    ]);
  });

  test('stage-scoped early stopping ends its stage only; the next stage trains all its epochs', async () => {
    const [a, b] = tasks(2);
    const trainer = tinyTrainer({
      // val_loss by global epoch: stage 0 stops at epoch 2 (patience 1 after the best at epoch 1).
      plugins: [script({ val_loss: [1, 0.5, 0.7, 0.9, 0.9, 0.9, 0.9, 0.9] })],
    });
    const out = await new MetaTrainer(trainer).run([
      {
        name: 'A',
        data: a!,
        epochs: 5,
        batchSize: 20,
        plugins: [earlyStopping({ monitor: 'val_loss', patience: 1, verbose: false })],
      },
      { name: 'B', data: b!, epochs: 3, batchSize: 20 },
    ]);
    expect(out.stages.map((s) => s.history.map((h) => h.epoch))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(out.stages[0]!.stopReason?.by).toBe('@tensorloop/early-stopping');
    expect(out.stages[1]!.stopReason).toBeUndefined();
    expect(out.stopReason).toBeUndefined();
    expect(trainer.plugins.map((p) => p.name)).not.toContain('@tensorloop/early-stopping');
  });

  test('stopRun ends the stage and the run; the stage is still evaluated and ended', async () => {
    const log: string[] = [];
    const [a, b, c] = tasks();
    const guard = definePlugin({
      name: 'test:guard',
      onEpochEnd: (ctx, e) =>
        e.epoch === 2 ? ctx.plugin('@tensorloop/meta-trainer').stopRun('loss diverged') : undefined,
    });
    const out = await new MetaTrainer(tinyTrainer({ plugins: [tracer('g', log)] })).run(
      [
        { name: 'A', data: a!, epochs: 2, batchSize: 20 },
        { name: 'B', data: b!, epochs: 3, batchSize: 20, plugins: [guard] },
        { name: 'C', data: c!, epochs: 3, batchSize: 20 },
      ],
      { evaluate: { streams: { test: [a!, b!, c!] } } },
    );
    expect(out.stages.map((s) => s.name)).toEqual(['A', 'B']);
    expect(out.stages[1]!.history.map((h) => h.epoch)).toEqual([2]);
    expect(out.stopReason).toEqual({ by: 'test:guard', message: 'loss diverged', stage: 1 });
    expect(log.filter((l) => /:(stage|eval)(Start|End)\(/.test(l))).toEqual([
      'g:stageStart(0,A)',
      'g:evalStart(0)',
      'g:evalEnd(0)',
      'g:stageEnd(0,A)',
      'g:stageStart(1,B)',
      'g:evalStart(1)',
      'g:evalEnd(1)',
      'g:stageEnd(1,B)',
    ]);
    expect(out.results.matrices[0]!.rows).toHaveLength(2);
  });

  test('a stage plugin that clashes with the trainer fails before the first stage trains', async () => {
    const trainer = tinyTrainer({ plugins: [tracer('dup', [])] });
    const [a, b] = tasks(2);
    const error = await new MetaTrainer(trainer)
      .run([
        { data: a!, epochs: 1 },
        { data: b!, epochs: 1, plugins: [tracer('dup', [])] },
      ])
      .catch((e: unknown) => e);
    expect(isTensorloopError(error, 'TL_PLUGIN_DUPLICATE')).toBe(true);
    expect(trainer.time.step).toBe(0);
    expect(trainer.plugins.map((p) => p.name)).toEqual(['dup', '@tensorloop/meta-trainer']);
  });

  test('meta:stageStart carries the stage data and plan; meta.stageName and the api follow the stage', async () => {
    const seen: unknown[] = [];
    const [a, b] = tasks(2);
    const probe = definePlugin({
      name: 'probe',
      'meta:stageStart': (ctx, e) =>
        void seen.push({
          stage: e.stage,
          stages: e.stages,
          epochs: e.epochs,
          api: ctx.plugin('@tensorloop/meta-trainer').stageName,
          sameData: e.data === (e.stage === 0 ? a : b),
        }),
    });
    const meta = new MetaTrainer(tinyTrainer({ plugins: [probe] }));
    await meta.run([
      { name: 'first', data: a!, epochs: 2 },
      { name: 'second', data: b!, epochs: 1 },
    ]);
    expect(seen).toEqual([
      { stage: 0, stages: 2, epochs: 2, api: 'first', sameData: true },
      { stage: 1, stages: 2, epochs: 1, api: 'second', sameData: true },
    ]);
    expect(meta.stageName).toBeUndefined();
  });
});
