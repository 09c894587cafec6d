import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkpoint, definePlugin, type LogEntry, type TensorloopOptimizer } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import { findLr, oneCycle, type PlateauApi, reduceOnPlateau } from '@tensorloop/lr-schedules';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { REPORT_EVENTS, type ReportHistory, report } from './index.js';
import { digitTrainer, mnistTensors, perStep, script, tmpDir } from './test-helpers.js';

const dirs: string[] = [];
const dir = () => {
  const d = tmpDir();
  dirs.push(d);
  return d;
};
const readHistory = (d: string) =>
  JSON.parse(readFileSync(path.join(d, 'history.json'), 'utf8')) as ReportHistory;

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('what it records', () => {
  test('history equals the trainer’s; lr and beta1 per group equal what the optimizer used at every step; stops and plateau reductions', async () => {
    const out = dir();
    const used: { step: number; group: string; lr: number; beta1: number }[] = [];
    const probe = definePlugin({
      name: 'test:probe',
      afterOptimizerStep(ctx) {
        for (const g of (ctx.optimizer as TensorloopOptimizer).groups)
          used.push({ step: ctx.time.step, group: g.name, lr: g.hparams.lr!, beta1: g.hparams.beta1! });
      },
    });
    let plateauApi: PlateauApi | undefined;
    const grab = definePlugin({
      name: 'test:grab',
      onFitEnd(ctx) {
        plateauApi = ctx.plugin('@tensorloop/lr-schedules:plateau');
      },
    });
    const rep = report({ dir: out, title: 'test run' });
    const data = mnistTensors(20);
    const val = mnistTensors(5, 300);
    const trainer = digitTrainer([
      script('val_score', [0.5, 0.5, 0.5, 0.6, 0.55, 0.54]),
      reduceOnPlateau({ monitor: 'val_score', mode: 'max', patience: 0, factor: 0.5 }),
      earlyStopping({ monitor: 'val_score', mode: 'max', patience: 2 }),
      oneCycle({ maxLr: { head: 5e-3, default: 2e-3 } }),
      probe,
      grab,
      rep,
    ]);
    const { history, stopReason, time } = await trainer.fit(data, {
      epochs: 8,
      batchSize: 20,
      validationData: val,
    });
    expect(stopReason?.by).toBe('@tensorloop/early-stopping');
    const saved = readHistory(out);
    expect(saved.format).toBe('tensorloop-report');
    expect(saved.title).toBe('test run');
    // every epoch's logs, exactly as the trainer's history holds them
    expect(saved.epochs.map((e) => e.logs)).toEqual(history.map((h) => h.logs));
    expect(saved.epochs.map((e) => e.x)).toEqual(history.map((_, i) => i + 1));
    expect(saved.epochs.at(-1)!.step).toBe(time.step);
    // hyperparameters: the recorded series, expanded to every step, are what the optimizer used
    for (const group of ['head', 'default']) {
      for (const name of ['lr', 'beta1'] as const) {
        const series = saved.hparams.find((h) => h.name === name && h.group === group)!;
        const expected = used.filter((u) => u.group === group).map((u) => u[name]);
        expect(expected).toHaveLength(time.step);
        expect(perStep(series, time.step)).toEqual(expected);
      }
    }
    // the plateau's reductions, as its API reports them
    const reductions = plateauApi!.reductions();
    expect(reductions.length).toBeGreaterThan(0);
    const plateau = saved.events.filter((e) => e.kind === 'plateau');
    expect(plateau.map((e) => [e.epoch, e.data?.group, e.data?.from, e.data?.to])).toEqual(
      reductions.map((r) => [r.epoch, r.group ?? null, r.from, r.to]),
    );
    const stop = saved.events.filter((e) => e.kind === 'stop');
    expect(stop).toHaveLength(1);
    expect(stop[0]!.message).toBe(`stopped by @tensorloop/early-stopping: ${stopReason!.message}`);
    expect(stop[0]!.x).toBe(history.length); // at the end of the last epoch
    expect(saved.fits[0]!.stopReason?.by).toBe('@tensorloop/early-stopping');
    // plugin messages (early stopping's sentences) are kept with their time
    const messages = saved.events.filter(
      (e) => e.kind === 'message' && e.source === '@tensorloop/early-stopping',
    );
    expect(messages.length).toBeGreaterThanOrEqual(history.length);
    // the page: one figure per log family and per hyperparameter, marks as many as the data
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    const ids = [...html.matchAll(/<figure id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(['metric-loss', 'metric-accuracy', 'metric-score', 'hparam-lr', 'hparam-beta1']);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/); // no script, nothing fetched
    tf.dispose([data.x, data.y, val.x, val.y]);
  });

  test('phase and stage boundaries, skipped steps and the accuracy matrix from events any package can emit', async () => {
    const out = dir();
    const entries: LogEntry[] = [];
    const stages = ['0-4', '5-9'];
    const fakeFinetune = definePlugin({
      name: 'fake:finetune',
      async onEpochStart(ctx, e) {
        if (ctx.time.fitIndex === 0 && e.fitEpoch === 1)
          await ctx.emit('finetune:transition', {
            phase: 1,
            name: 'unfreeze body',
            unfrozen: ['body/kernel', 'body/bias'],
          });
      },
    });
    const fakeMeta = definePlugin({
      name: 'fake:meta',
      async onFitStart(ctx) {
        await ctx.emit('meta:stageStart', { stage: ctx.time.fitIndex, name: stages[ctx.time.fitIndex] });
        await ctx.emit('amp:stepsSkipped', { count: 3 });
        // malformed: warned about, not fatal
        await (ctx.emit as (n: string, e: unknown) => Promise<void>)('meta:stageStart', { stage: 'first' });
      },
      async onFitEnd(ctx) {
        const i = ctx.time.fitIndex;
        const accuracies = Object.fromEntries(stages.map((s, j) => [s, j <= i ? 0.9 - 0.1 * (i - j) : 0.1]));
        await ctx.emit('meta:stageEnd', { stage: i, name: stages[i], accuracies });
      },
    });
    const rep = report({ dir: out });
    const data = mnistTensors(10);
    const trainer = digitTrainer([fakeFinetune, fakeMeta, rep], entries);
    await trainer.fit(data, { epochs: 3, batchSize: 20 });
    await trainer.fit(data, { epochs: 2, batchSize: 20 });
    await rep.write();
    const saved = readHistory(out);
    const marks = saved.events.filter((e) => ['phase', 'stage', 'skipped'].includes(e.kind));
    expect(marks.map((e) => [e.kind, e.x, e.label])).toEqual([
      ['stage', 0, 'stage 0: 0-4'],
      ['skipped', 0, '3 steps skipped'],
      ['phase', 1, 'phase 1: unfreeze body'],
      ['stage', 3, 'stage 1: 5-9'],
      ['skipped', 3, '3 steps skipped'],
    ]);
    expect(saved.events.find((e) => e.kind === 'phase')!.data?.unfrozen).toBe(2);
    expect(saved.accuracyMatrix).toEqual({
      tasks: ['0-4', '5-9'],
      rows: [
        { stage: 'after 0-4', values: [0.9, 0.1] },
        { stage: 'after 5-9', values: [0.8, 0.9] },
      ],
      metric: 'accuracy',
    });
    const warnings = entries.filter((e) => e.level === 'warn' && e.source === '@tensorloop/report');
    expect(warnings.map((w) => w.message)).toEqual([
      'ignored a "meta:stageStart" event: needs { stage: integer ≥ 0 }',
      'ignored a "meta:stageStart" event: needs { stage: integer ≥ 0 }',
    ]);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<figure id="accuracy-matrix"');
    // backward transfer of the two-task matrix: R[1][0] − R[0][0] = 0.8 − 0.9
    expect(html).toContain('average accuracy 0.850 · backward transfer -0.100');
    tf.dispose([data.x, data.y]);
  });

  test('the event names are the documented ones', () => {
    expect(Object.values(REPORT_EVENTS)).toEqual([
      'finetune:transition',
      'meta:stageStart',
      'meta:stageEnd',
      'meta:accuracyMatrix',
      'amp:stepsSkipped',
    ]);
    const plugin = report({ write: 'manual' });
    for (const name of Object.values(REPORT_EVENTS))
      expect(typeof (plugin as unknown as Record<string, unknown>)[name]).toBe('function');
  });

  test('registered in several trainers (a stage per trainer), epochs and steps continue', async () => {
    const rep = report({ write: 'manual' });
    const data = mnistTensors(10);
    await digitTrainer([rep]).fit(data, { epochs: 2, batchSize: 25 });
    await digitTrainer([rep]).fit(data, { epochs: 2, batchSize: 25 });
    const h = rep.history();
    expect(h.epochs.map((e) => [e.epoch, e.trainerEpoch, e.fit, e.step])).toEqual([
      [0, 0, 0, 4],
      [1, 1, 0, 8],
      [2, 0, 1, 12],
      [3, 1, 1, 16],
    ]);
    expect(h.fits.map((f) => f.startEpoch)).toEqual([0, 2]);
    const lr = h.hparams.find((s) => s.name === 'lr' && s.group === 'default')!;
    expect(Math.max(...lr.points.map((p) => p.x))).toBe(4);
    tf.dispose([data.x, data.y]);
  });
});

describe('the record API', () => {
  test('an LR range test result (findLr) and an accuracy matrix are drawn; bad input fails with TL_OPTION_INVALID', async () => {
    const rep = report({ write: 'manual', maxPoints: 1000 });
    const data = mnistTensors(20);
    const trainer = digitTrainer([rep]);
    const result = await findLr(trainer, data, { steps: 40, batchSize: 10 });
    rep.recordLrFinder(result, { chosen: result.suggestions!.valley.lr });
    rep.recordAccuracyMatrix({
      tasks: ['a', 'b', 'c'],
      matrix: [
        [0.9, null, null],
        [0.7, 0.95, null],
        [0.6, 0.8, 0.97],
      ],
    });
    const h = rep.history();
    expect(h.lrFinder!.curve).toHaveLength(result.curve.length);
    expect(h.lrFinder!.suggestions.map((s) => s.name)).toEqual(['steepest', 'valley', 'minimum']);
    expect(h.lrFinder!.chosen).toBe(result.suggestions!.valley.lr);
    const html = await rep.html();
    const lrFigure = /<figure id="lr-finder"[^>]*data-points="([^"]+)"/.exec(html)!;
    expect(JSON.parse(lrFigure[1]!.replaceAll('&#34;', '"'))).toEqual([
      result.curve.length,
      result.curve.length,
    ]);
    expect(html).toContain('<figure id="accuracy-matrix"');
    expect(() => rep.recordLrFinder({ curve: 'no' })).toThrow(/TL_OPTION_INVALID/);
    expect(() => rep.recordAccuracyMatrix({ tasks: ['a'], matrix: [[0.5, 0.6]] })).toThrow(
      /TL_OPTION_INVALID.*row 0/,
    );
    expect(() => report({ maxPoints: 2 })).toThrow(/TL_OPTION_INVALID.*maxPoints/);
    tf.dispose([data.x, data.y]);
  });

  test('the lrFinder plugin inside a trainer with the report is picked up at the end of its fit', async () => {
    const { lrFinder } = await import('@tensorloop/lr-schedules');
    const rep = report({ write: 'manual' });
    const data = mnistTensors(10);
    await digitTrainer([lrFinder({ steps: 20 }), rep]).fit(data, { epochs: 4, batchSize: 10 });
    expect(rep.history().lrFinder?.curve.length).toBe(20);
    tf.dispose([data.x, data.y]);
  });
});

describe('cost, leaks and resume', () => {
  test('reads nothing from the device and asks for no batch logs; no tensor outlives a step', async () => {
    const data = mnistTensors(20);
    const calls = async (withReport: boolean) => {
      const counts: number[] = [];
      const probe = definePlugin({
        name: 'test:count',
        onEpochEnd: () => void counts.push(tf.memory().numTensors),
      });
      const trainer = digitTrainer([probe, ...(withReport ? [report({ write: 'manual' })] : [])]);
      const spy = vi.spyOn(tf.Tensor.prototype, 'data');
      const spySync = vi.spyOn(tf.Tensor.prototype, 'dataSync');
      await trainer.fit(data, { epochs: 3, batchSize: 10, validationData: data });
      const n = spy.mock.calls.length + spySync.mock.calls.length;
      spy.mockRestore();
      spySync.mockRestore();
      return { n, counts };
    };
    const plain = await calls(false);
    const recorded = await calls(true);
    expect(recorded.n).toBe(plain.n);
    expect(new Set(recorded.counts).size).toBe(1);
    expect(report().needsBatchLogs).toBeUndefined();
    tf.dispose([data.x, data.y]);
  });

  test('a run resumed from a checkpoint records what an uninterrupted run records', async () => {
    const data = mnistTensors(10);
    const val = mnistTensors(4, 300);
    const fitOptions = { epochs: 4, batchSize: 20, validationData: val };
    const straight = report({ write: 'manual' });
    await digitTrainer([oneCycle({ maxLr: 4e-3 }), straight]).fit(data, fitOptions);

    const ckpt = dir();
    const crash = definePlugin({
      name: 'test:crash',
      onEpochStart(ctx) {
        if (ctx.time.epoch === 2) throw new Error('power cut');
      },
    });
    const first = report({ write: 'manual' });
    await expect(
      digitTrainer([oneCycle({ maxLr: 4e-3 }), crash, first, checkpoint({ dir: ckpt })]).fit(
        data,
        fitOptions,
      ),
    ).rejects.toThrow(/power cut/);
    const resumed = report({ write: 'manual' });
    await digitTrainer([oneCycle({ maxLr: 4e-3 }), resumed, checkpoint({ dir: ckpt })]).fit(data, {
      ...fitOptions,
      resumeFrom: path.join(ckpt, 'last'),
    });
    const a = straight.history();
    const b = resumed.history();
    expect(b.epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3]);
    b.epochs.forEach((e, i) => {
      for (const [k, v] of Object.entries(a.epochs[i]!.logs)) expect(e.logs[k], k).toBeCloseTo(v, 5);
    });
    const points = (h: ReportHistory) =>
      h.hparams.map((s) => [s.name, s.group, s.points.map((p) => [p.step, p.x, p.value])]);
    expect(points(b)).toEqual(points(a));
    expect(b.fits).toHaveLength(1);
    expect(b.fits[0]!.completed).toBe(true);
    expect(existsSync(path.join(ckpt, 'last', 'trainer.json'))).toBe(true);
    const state = JSON.parse(readFileSync(path.join(ckpt, 'last', 'trainer.json'), 'utf8')) as {
      plugins: Record<string, { state: { epochs: unknown[] } }>;
    };
    expect(state.plugins['@tensorloop/report']!.state.epochs).toHaveLength(4);
    tf.dispose([data.x, data.y, val.x, val.y]);
  });

  test('a saved state of another shape is refused with TL_CHECKPOINT_INVALID', () => {
    const rep = report();
    expect(() => rep.loadState!({ version: 2 } as never, undefined, {})).toThrow(/TL_CHECKPOINT_INVALID/);
  });
});
