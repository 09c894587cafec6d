// Resume in the middle of a stage (and between stages) ≡ the uninterrupted run, in one process. The
// cross-process contract is in packages/tests (meta-trainer.contract.test.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { adam, definePlugin, isTensorloopError, type Plugin } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freezeExcept } from './freeze-except.js';
import { MetaTrainer } from './meta-trainer.js';
import { maxAbsDiff, tasks, tinyTrainer, tracer, weightsOf } from './test-helpers.js';
import type { EvaluateSpec, StageSpec } from './types.js';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'tl-meta-resume-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const data = tasks(3, 30);
const evaluate: EvaluateSpec = { streams: { test: data }, at: 'init-and-each-stage' };

/** Saves a checkpoint at a point of the run, after every other plugin's hooks. */
function saver(path: string, at: { epochEnd?: number; step?: number; stageEnd?: number }): Plugin {
  return definePlugin({
    name: 'test:saver',
    enforce: 'post',
    async onEpochEnd(ctx, e) {
      if (e.epoch === at.epochEnd) await ctx.save(path);
    },
    async onBatchEnd(ctx, e) {
      if (e.stepped && ctx.time.step === at.step) await ctx.save(path);
    },
    async 'meta:stageEnd'(ctx, e) {
      if (e.stage === at.stageEnd) await ctx.save(path);
    },
  });
}

/** Three stages: stage-scoped early stopping with best weights, a frozen stage, a fresh optimizer. */
function stages(): StageSpec[] {
  return [
    {
      name: 'A',
      data: data[0]!,
      epochs: 5,
      batchSize: 8,
      validationData: data[0]!,
      plugins: [
        earlyStopping({
          monitor: 'val_loss',
          minDelta: 0.17,
          patience: 1,
          restoreBestWeights: true,
          verbose: false,
        }),
      ],
    },
    { name: 'B', data: data[1]!, epochs: 3, batchSize: 8, plugins: [freezeExcept(/^classifier\//)] },
    { name: 'C', data: data[2]!, epochs: 2, batchSize: 8, optimizer: 'new' },
  ];
}

function build(extra: Plugin[] = [], log: string[] = []) {
  const trainer = tinyTrainer({ optimizer: adam({ lr: 0.05 }), plugins: [tracer('g', log), ...extra] });
  return { trainer, meta: new MetaTrainer(trainer) };
}

const outcome = (t: ReturnType<typeof build>) => ({
  weights: weightsOf(t.trainer.model),
  history: t.trainer.history.map((h) => ({ epoch: h.epoch, fitIndex: h.fitIndex, logs: h.logs })),
  time: { ...t.trainer.time },
  results: t.meta.results(),
  trainable: t.trainer.parameters().map((p) => p.trainable),
});

describe('resume ≡ uninterrupted', () => {
  let straight: ReturnType<typeof outcome>;
  let straightLog: string[];

  beforeAll(async () => {
    straightLog = [];
    const run = build([], straightLog);
    await run.meta.run(stages(), { evaluate });
    straight = outcome(run);
    // The scenario does what it says: early stopping ends stage A after 3 of its 5 epochs.
    expect(straight.history.map((h) => h.fitIndex)).toEqual([0, 0, 0, 1, 1, 1, 2, 2]);
  });

  const resumeFrom = async (path: string, at: Parameters<typeof saver>[1]) => {
    const first = build([saver(path, at)]);
    await first.meta.run(stages(), { evaluate });
    const log: string[] = [];
    const second = build([], log);
    const out = await second.meta.run(stages(), { evaluate, resumeFrom: path });
    return { resumed: outcome(second), log, first: outcome(first), out };
  };

  test('a checkpoint at an epoch end in the middle of the frozen stage', async () => {
    const { resumed, log, first } = await resumeFrom(join(dir, 'mid-stage'), { epochEnd: 3 });
    expect(first.weights).toEqual(straight.weights); // saving changed nothing
    expect(maxAbsDiff(resumed.weights, straight.weights)).toBe(0);
    expect(resumed.history).toEqual(straight.history);
    expect(resumed.time).toEqual(straight.time);
    expect(resumed.results).toEqual(straight.results);
    expect(resumed.trainable).toEqual(straight.trainable);
    expect(resumed.trainable.every(Boolean)).toBe(true); // freezeExcept unfroze at its stage's end
    // The resumed process announces stage B as resumed, continues its fit, then goes on as before.
    expect(log.slice(0, 3)).toEqual([
      'g:stageStart(1,B,resumed)',
      'g:fitStart(1,resumed)',
      'g:epochStart(4)',
    ]);
    expect(log.slice(log.indexOf('g:stageEnd(1,B)'))).toEqual(
      straightLog.slice(straightLog.indexOf('g:stageEnd(1,B)')),
    );
  });

  test('a mid-epoch checkpoint in the first stage (early stopping holding best weights)', async () => {
    const { resumed, log } = await resumeFrom(join(dir, 'mid-epoch'), { step: 6 });
    expect(log.slice(0, 2)).toEqual(['g:stageStart(0,A,resumed)', 'g:fitStart(0,resumed)']);
    expect(maxAbsDiff(resumed.weights, straight.weights)).toBe(0);
    expect(resumed.history).toEqual(straight.history);
    expect(resumed.results).toEqual(straight.results);
  });

  test('a checkpoint written in meta:stageEnd: the stage is not trained or evaluated again', async () => {
    const { resumed, log, out } = await resumeFrom(join(dir, 'stage-end'), { stageEnd: 0 });
    expect(maxAbsDiff(resumed.weights, straight.weights)).toBe(0);
    expect(resumed.results).toEqual(straight.results);
    expect(log.slice(0, 3)).toEqual(['g:stageStart(0,A,resumed)', 'g:stageEnd(0,A)', 'g:stageStart(1,B)']);
    // The stop that ended stage A came back with the checkpoint.
    expect(out.stages[0]!.stopReason?.by).toBe('@tensorloop/early-stopping');
  });

  test('between stages (imperative run, tick, save), continued by run()', async () => {
    const first = build();
    const specs = stages();
    const { name: _n, data: d0, plugins, ...fit0 } = specs[0]!;
    first.meta.dispose(); // one MetaTrainer per trainer
    const imperative = new MetaTrainer(first.trainer, { stagePlugins: { 0: plugins! }, evaluate });
    await imperative.fit(d0, { ...fit0, name: 'A' });
    await imperative.tick();
    await first.trainer.save(join(dir, 'between'));
    const second = build();
    const out = await second.meta.run(stages(), { evaluate, resumeFrom: join(dir, 'between') });
    expect(out.stages.map((s) => s.name)).toEqual(['B', 'C']);
    expect(maxAbsDiff(weightsOf(second.trainer.model), straight.weights)).toBe(0);
    expect(second.meta.results()).toEqual(straight.results);
  });

  test('imperative: resumeFrom puts the stage back; the next meta.fit continues its fit', async () => {
    const path = join(dir, 'imperative');
    const drive = async (meta: MetaTrainer, fromStage: number) => {
      if (fromStage === 0) {
        await meta.fit(data[0]!, { epochs: 3, batchSize: 8, name: 'A' });
        await meta.tick();
      }
      await meta.fit(data[1]!, { epochs: 2, batchSize: 8, name: 'B' });
      await meta.tick();
    };
    const stagePlugins = () => ({ 1: [freezeExcept(/^classifier\//)] });
    const straightRun = tinyTrainer({ optimizer: adam({ lr: 0.05 }) });
    const straightMeta = new MetaTrainer(straightRun, { stagePlugins: stagePlugins(), evaluate });
    await drive(straightMeta, 0);
    const crashed = tinyTrainer({ optimizer: adam({ lr: 0.05 }), plugins: [saver(path, { epochEnd: 3 })] });
    await drive(new MetaTrainer(crashed, { stagePlugins: stagePlugins(), evaluate }), 0);
    const log: string[] = [];
    const resumed = tinyTrainer({ optimizer: adam({ lr: 0.05 }), plugins: [tracer('g', log)] });
    const meta = new MetaTrainer(resumed, { stagePlugins: stagePlugins(), evaluate });
    await meta.resumeFrom(path);
    expect(meta.stage).toBe(1);
    expect(
      resumed
        .parameters()
        .filter((p) => p.trainable)
        .map((p) => p.name),
    ).toEqual(['classifier/kernel', 'classifier/bias']);
    await drive(meta, 1);
    expect(log.slice(0, 2)).toEqual(['g:stageStart(1,B,resumed)', 'g:fitStart(1,resumed)']);
    expect(maxAbsDiff(weightsOf(resumed.model), weightsOf(straightRun.model))).toBe(0);
    expect(meta.results()).toEqual(straightMeta.results());
    expect(resumed.parameters().every((p) => p.trainable)).toBe(true);
  });

  test('a checkpoint of other stages or other streams is refused before anything changes', async () => {
    const path = join(dir, 'mid-stage');
    const other = build();
    const renamed = stages().map((s, i) => (i === 1 ? { ...s, name: 'B2' } : s));
    const error = await other.meta.run(renamed, { evaluate, resumeFrom: path }).catch((e: unknown) => e);
    expect(isTensorloopError(error, 'TL_CHECKPOINT_INVALID')).toBe(true);
    expect((error as Error).message).toContain('was written in stage 1 "B", but this run\'s stage 1 is "B2"');
    const fewer = await build()
      .meta.run(stages(), { evaluate: { streams: { test: data.slice(0, 2) } }, resumeFrom: path })
      .catch((e: unknown) => e);
    expect((fewer as Error).message).toMatch(
      /evaluating test \(30\/30\/30 samples\), but this run evaluates test \(30\/30 samples\)/,
    );
    expect(other.trainer.time.step).toBe(0);
  });
});
