import * as tf from '@tensorflow/tfjs';
import { type AnyOptimizer, sgd, Trainer } from '@tensorloop/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findLr, type LrFinderState, lrFinder } from './lr-finder.js';
import { minimum, steepest, suggest, trimCurve, valley } from './suggestions.js';
import { classificationData, maxAbsDiff, tinyClassifier, weightsOf } from './test-helpers.js';

let data: { x: tf.Tensor2D; y: tf.Tensor2D };
beforeAll(async () => {
  await tf.setBackend('cpu');
  data = classificationData(128);
});
afterAll(() => tf.dispose([data.x, data.y]));

describe('suggestions follow fastai (steep, valley, minimum)', () => {
  // lr one decade apart, so the slope over log(lr) is the loss difference / ln 10
  const lrs = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];
  const losses = [5, 4, 4.5, 3.2, 2, 2.5, 1, 3, 6];

  test('hand-derived picks on a small curve', () => {
    // steepest drop: 2.5 → 1 between 1e-3 and 1e-2 → fastai `steep` returns lrs[argmin(grads)], the
    // start of that segment (1e-3), not the point after it
    expect(steepest(lrs, losses)).toEqual({ lr: 1e-3, loss: 2.5, index: 5 });
    // longest decreasing run 5, 4, 3.2, 2, 1 ends at index 6 with length 5 → start 1; 1 + ⌊5/3⌋ + ⌊5/6⌋ = 2
    expect(valley(lrs, losses)).toEqual({ lr: 1e-6, loss: 4.5, index: 2 });
    expect(minimum(lrs, losses)).toEqual({ lr: 1e-3, loss: 1, index: 6 });
  });

  test('steepest = fastai callback/schedule.py `steep` on a sweep (lrs[grads.argmin()])', () => {
    // fastai's steep() run with torch on this curve: (0.00081, (0.00081, 2.05)), i.e. index 4
    const sweep = Array.from({ length: 12 }, (_, i) => 1e-5 * 3 ** i);
    const curve = [2.3, 2.29, 2.27, 2.2, 2.05, 1.8, 1.62, 1.55, 1.58, 1.9, 2.8, 4.1];
    const s = steepest(sweep, curve);
    expect(s.index).toBe(4);
    expect(s.lr).toBeCloseTo(0.00081, 15);
    expect(s.loss).toBe(2.05);
  });

  test('fastai trims the first steps/10 points and the last 5 before suggesting', () => {
    const many = Array.from({ length: 100 }, (_, i) => i);
    const { lrs: l } = trimCurve(many, many, 100);
    expect(l[0]).toBe(10);
    expect(l.at(-1)).toBe(94);
    // 9 points of a 9-step sweep: keep [0, 4) → the lowest loss there is 3.2 at 1e-5
    expect(suggest(lrs, losses, 9).minimum).toEqual({ lr: expect.closeTo(1e-6, 15), loss: 3.2, index: 3 });
  });
});

describe('lrFinder / findLr', () => {
  const build = (optimizer: AnyOptimizer) =>
    new Trainer({
      model: tinyClassifier(3),
      loss: 'categoricalCrossentropy',
      optimizer,
      log: 'silent',
      seed: 1,
    });

  test('the sweep is exponential from start, stops when the smoothed loss passes stopDiv × best', async () => {
    const trainer = build(sgd({ lr: 0.1, momentum: 0.9 }));
    const result = await findLr(trainer, data, {
      start: 1e-4,
      end: 1e4,
      steps: 60,
      smooth: 0.8,
      batchSize: 16,
    });
    expect(result.stoppedBy).toBe('diverged');
    result.curve.forEach((p, i) => {
      expect(p.lr / (1e-4 * 1e8 ** (i / 60))).toBeCloseTo(1, 12);
    });
    const last = result.curve.at(-1)!;
    expect(!Number.isFinite(last.loss) || last.loss > 4 * result.best!.loss).toBe(true);
    expect(result.curve.slice(0, -1).every((p) => p.loss <= 4 * result.best!.loss)).toBe(true);
    // debiased EMA (fastai): smoothed[0] = raw[0]
    expect(result.curve[0]!.loss).toBeCloseTo(result.curve[0]!.raw, 6);
    expect(result.suggestions!.valley.lr).toBeGreaterThan(1e-4);
    expect(result.suggestions!.valley.lr).toBeLessThan(last.lr);
  });

  for (const [label, make] of [
    ['core sgd with momentum', () => sgd({ lr: 0.05, momentum: 0.9 })],
    ['tfjs adam', () => tf.train.adam(0.01)],
  ] as const) {
    test(`${label}: the trainer is left as found — later training equals a twin that never ran the finder`, async () => {
      const a = build(make());
      const b = build(make());
      b.model.setWeights(a.model.getWeights());
      await a.fit(data, { epochs: 1, batchSize: 32 });
      await b.fit(data, { epochs: 1, batchSize: 32 });
      const before = weightsOf(a.model);
      const time = { ...a.time };
      const lr = a.hparams.get('lr');
      const tensors = tf.memory().numTensors;
      const result = await findLr(a, data, { steps: 30, batchSize: 16 });
      expect(result.curve.length).toBeGreaterThan(5);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(maxAbsDiff(weightsOf(a.model), before)).toBe(0);
      expect(a.time).toEqual(time);
      expect(a.hparams.get('lr')).toBe(lr);
      await a.fit(data, { epochs: 1, batchSize: 32 });
      await b.fit(data, { epochs: 1, batchSize: 32 });
      expect(maxAbsDiff(weightsOf(a.model), weightsOf(b.model))).toBeLessThan(1e-7);
    });
  }

  test('a custom loss must be passed again', async () => {
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: (t, p) => tf.metrics.categoricalCrossentropy(t, p),
      optimizer: sgd({ lr: 0.1 }),
      log: 'silent',
    });
    await expect(findLr(trainer, data, { steps: 5 })).rejects.toThrow(/TL_OPTION_INVALID.*\{ loss \}/);
    const ok = await findLr(trainer, data, { steps: 5, loss: 'categoricalCrossentropy', batchSize: 16 });
    expect(ok.curve).toHaveLength(5);
    expect(ok.stoppedBy).toBe('steps');
  });

  test('progress is plugin state: a restored finder reports the same curve', async () => {
    const finder = lrFinder({ steps: 12 });
    await new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: sgd({ lr: 1 }),
      plugins: [finder],
      log: 'silent',
    }).fit(data, { epochs: 2, batchSize: 16 });
    const saved = JSON.parse(JSON.stringify(finder.state!())) as LrFinderState;
    expect(saved.iteration).toBe(12);
    const restored = lrFinder({ steps: 12 });
    restored.loadState!(restored.parseState!(saved, undefined), undefined, {});
    expect(restored.api.result()).toEqual(finder.api.result());
    expect(() => restored.parseState!({ ...saved, stoppedBy: 'bored' }, undefined)).toThrow(
      /state\.stoppedBy must be one of "diverged", "steps"/,
    );
    expect(finder.api.result().stoppedBy).toBe('steps');
  });

  test('unknown option keys fail with TL_OPTION_INVALID naming the closest valid key', async () => {
    expect(() => lrFinder({ stop_div: 3 } as never)).toThrow(
      /TL_OPTION_INVALID.*lrFinder\(\): unknown option "stop_div"; did you mean "stopDiv"\?/,
    );
    const trainer = build(sgd({ lr: 0.1 }));
    await expect(findLr(trainer, data, { batch_size: 8 } as never)).rejects.toThrow(
      /findLr\(\): unknown option "batch_size"; did you mean "batchSize"\?/,
    );
  });
});
