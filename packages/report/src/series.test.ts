import { describe, expect, test } from 'vitest';
import { parseAccuracyMatrix, parseLrFinder, parseStage, parseTransition } from './contract.js';
import { Recorder } from './recorder.js';
import { continualSummary, downsample, logFamilies } from './series.js';
import type { ReportHistory } from './types.js';

const time = (epoch: number, epochBatch: number, step: number) => ({
  epoch,
  step,
  batch: 0,
  sample: 0,
  fitIndex: 0,
  fitEpoch: epoch,
  fitStep: step,
  epochBatch,
  stage: 0,
  stageEpoch: 0,
  stageStep: 0,
  fraction: 0,
});

describe('recorder', () => {
  test('hyperparameters are stored where they change, with the last step of the old value before a change', () => {
    const r = new Recorder();
    const values = [1, 1, 1, 1, 0.5, 0.5, 0.25];
    values.forEach((v, step) => {
      r.hparam('lr', 'default', 0, step, step, v);
    });
    expect(r.hparams[0]!.points.map((p) => [p.step, p.value])).toEqual([
      [0, 1],
      [3, 1],
      [4, 0.5],
      [5, 0.5],
      [6, 0.25],
    ]);
  });

  test('a fit on a trainer whose counters start again is placed after what was recorded', () => {
    const r = new Recorder();
    r.align(time(0, 0, 0));
    r.endEpoch({
      epoch: 0,
      trainerEpoch: 0,
      fit: 0,
      stage: 0,
      step: 10,
      skippedBatches: 0,
      seconds: 1,
      partial: false,
      logs: {},
      batches: 10,
    });
    r.align(time(0, 0, 0));
    expect([r.epochOffset, r.stepOffset]).toEqual([1, 10]);
    expect(r.epochOf(time(2, 0, 5))).toBe(3);
    expect(r.xOf(0, 5)).toBe(0.5); // batch 5 of the 10 of epoch 0
  });
});

describe('series', () => {
  test('log keys are grouped by what they measure, loss first, smooth_loss left out', () => {
    const h = {
      epochs: [{ x: 1, logs: { accuracy: 0.5, val_loss: 1, loss: 2, smooth_loss: 2, val_accuracy: 0.4 } }],
    };
    expect([...logFamilies(h as unknown as ReportHistory)]).toEqual([
      ['loss', ['loss', 'val_loss']],
      ['accuracy', ['accuracy', 'val_accuracy']],
    ]);
  });

  test('downsampling keeps the first and last points, the count, and a sharp drop', () => {
    const points = Array.from({ length: 1000 }, (_, i) => ({ x: i, value: i < 600 ? 1 : 0.1 }));
    const d = downsample(points, 50);
    expect(d).toHaveLength(50);
    expect(d[0]).toBe(points[0]);
    expect(d.at(-1)).toBe(points.at(-1));
    expect(d.some((p) => p.x >= 595 && p.x <= 605)).toBe(true);
    expect(downsample(points.slice(0, 20), 50)).toHaveLength(20);
  });

  test('average accuracy and backward transfer (Lopez-Paz & Ranzato) of a complete matrix', () => {
    const m = parseAccuracyMatrix({
      tasks: ['a', 'b', 'c'],
      matrix: [
        [0.9, 0.1, 0.1],
        [0.7, 0.95, 0.1],
        [0.6, 0.8, 0.97],
      ],
    });
    const s = continualSummary(m)!;
    expect(s.average).toBeCloseTo((0.6 + 0.8 + 0.97) / 3, 12);
    expect(s.bwt).toBeCloseTo((0.6 - 0.9 + (0.8 - 0.95)) / 2, 12);
    expect(continualSummary({ ...m, rows: m.rows.slice(0, 2) })).toBeUndefined();
  });
});

describe('the event and record contract', () => {
  test('events are read structurally; extra fields are fine, missing ones are refused', () => {
    expect(parseTransition({ phase: 2, name: 'all', unfrozen: ['a'], extra: true })).toEqual({
      phase: 2,
      name: 'all',
      message: undefined,
      unfrozen: 1,
    });
    expect(() => parseTransition({ name: 'x' })).toThrow(/phase/);
    expect(parseStage({ stage: 1, accuracies: [0.5, null] }).accuracies).toEqual([0.5, null]);
    expect(() => parseStage({ stage: 1, accuracies: ['high'] })).toThrow(/accuracies/);
  });

  test('findLr-shaped results and matrices are validated', () => {
    const r = parseLrFinder(
      { curve: [{ lr: 1e-3, loss: 2, raw: 2.1 }], suggestions: { valley: { lr: 1e-3, loss: 2 } } },
      1e-3,
    );
    expect(r).toEqual({
      curve: [{ lr: 1e-3, loss: 2, raw: 2.1 }],
      suggestions: [{ name: 'valley', lr: 1e-3, loss: 2 }],
      chosen: 1e-3,
      stoppedBy: null,
    });
    expect(() => parseLrFinder({ curve: [{ lr: -1, loss: 1 }] })).toThrow(/TL_OPTION_INVALID/);
    expect(
      parseAccuracyMatrix({
        tasks: ['a', 'b'],
        matrix: [
          [1, null],
          [0.5, 1],
        ],
        stages: ['s0', 's1'],
      }).rows[1],
    ).toEqual({
      stage: 's1',
      values: [0.5, 1],
    });
  });
});
