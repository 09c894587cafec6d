import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as core from './index.js';
import { checkpoint, definePlugin, type MetricSpec, type Plugin, resolveMode, Trainer } from './index.js';
import { classificationData, tinyClassifier } from './test-helpers.js';

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'tl-monitor-mode-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// keras/src/callbacks/early_stopping_test.py test_early_stopping: (auto, val_mse) → min, (auto, loss) → min,
// (auto, acc) → max, (auto, val_accuracy) → max, (auto, hinge) → min, (auto, f1_score) → max, and
// monitor "unknown" raises. The other keys are the families issue 12 names.
const KERAS_CASES: [string, 'min' | 'max'][] = [
  ['val_mse', 'min'],
  ['loss', 'min'],
  ['acc', 'max'],
  ['val_accuracy', 'max'],
  ['hinge', 'min'],
  ['f1_score', 'max'],
];
const MORE_CASES: [string, 'min' | 'max'][] = [
  ['val_loss', 'min'],
  ['smooth_loss', 'min'],
  ['val_auc', 'max'],
  ['prAuc', 'max'],
  ['val_precision', 'max'],
  ['recall', 'max'],
  ['precision_at_recall', 'max'],
  ['val_iou', 'max'],
  ['meanIoU', 'max'],
  ['mean_iou', 'max'],
  ['val_f1', 'max'],
  ['fbeta_score', 'max'],
  ['binaryAccuracy', 'max'],
  ['sparse_categorical_accuracy', 'max'],
  ['top_k_categorical_accuracy', 'max'],
  ['val_mAP', 'max'],
  ['dice_coef', 'max'],
  ['r2_score', 'max'],
  ['mae', 'min'],
  ['meanSquaredError', 'min'],
  ['val_mean_absolute_error', 'min'],
  ['val_error', 'min'],
  ['error_rate', 'min'],
  ['categorical_crossentropy', 'min'],
  ['kl_divergence', 'min'],
  ['perplexity', 'min'],
  ['val_acc_loss', 'min'], // the last word decides: a loss of something
  ['dice_loss', 'min'],
  ['iou_loss', 'min'],
];

describe("mode 'auto' reads the direction of a log key (one rule for every plugin)", () => {
  test.each([...KERAS_CASES, ...MORE_CASES])('%s → %s', (key, mode) => {
    expect(resolveMode(key, 'auto')).toBe(mode);
    expect(core.resolveMonitorMode(key, 'auto')).toBe(mode);
  });

  test('explicit min/max are kept whatever the key', () => {
    expect(resolveMode('val_accuracy', 'min')).toBe('min');
    expect(resolveMode('val_loss', 'max')).toBe('max');
    expect(resolveMode('val_score', 'max')).toBe('max');
  });

  test.each([
    'unknown',
    'val_score',
    'score',
    'probe',
    'lr',
    'val_custom',
  ])('%s: auto refuses with TL_OPTION_INVALID asking for mode', (key) => {
    let error: unknown;
    try {
      resolveMode(key, 'auto');
    } catch (e) {
      error = e;
    }
    expect(core.isTensorloopError(error, 'TL_OPTION_INVALID')).toBe(true);
    expect((error as Error).message).toContain(`"${key}"`);
    expect((error as Error).message).toContain("mode: 'max'");
    expect((error as Error).message).toContain("mode: 'min'");
  });

  test('an invalid mode is refused', () => {
    expect(() => core.resolveMonitorMode('val_loss', 'up' as never)).toThrow(
      /TL_OPTION_INVALID.*'auto', 'min' or 'max'/,
    );
  });

  test('inferMonitorMode answers undefined instead of throwing (for factories that decide later)', () => {
    expect(core.inferMonitorMode('val_auc', 'auto')).toBe('max');
    expect(core.inferMonitorMode('val_score', 'auto')).toBeUndefined();
    expect(core.inferMonitorMode('val_score', 'min')).toBe('min');
  });
});

describe('a metric spec may carry a direction that auto uses', () => {
  const metric = (name: string, direction: 'min' | 'max'): MetricSpec => ({
    name,
    fn: tf.metrics.meanAbsoluteError,
    direction,
  });
  const trainerWith = (metrics: MetricSpec[], plugins: Plugin[] = []) =>
    new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      metrics,
      optimizer: tf.train.sgd(0.1),
      plugins,
      log: 'silent',
    });

  /** What a plugin resolves at fit start on a trainer with these metrics. */
  const resolvedAtFitStart = async (metrics: MetricSpec[], key: string) => {
    let seen: unknown;
    const probe = definePlugin({
      name: 'probe',
      onFitStart(ctx) {
        try {
          seen = core.resolveMonitorMode(key, 'auto', 'probe', ctx.metricDirections);
        } catch (error) {
          seen = error;
        }
      },
    });
    await trainerWith(metrics, [probe]).fit(classificationData(8), { epochs: 1, batchSize: 8 });
    return seen;
  };

  test('the declared direction decides, for the metric and its val_ key (through ctx.metricDirections)', async () => {
    expect(await resolvedAtFitStart([metric('calibration', 'max')], 'calibration')).toBe('max');
    expect(await resolvedAtFitStart([metric('calibration', 'max')], 'val_calibration')).toBe('max');
    expect(trainerWith([metric('calibration', 'max')]).contextFor('x').metricDirections).toEqual(
      new Map([['calibration', 'max']]),
    );
  });

  test('a declared direction wins over the name', async () => {
    expect(await resolvedAtFitStart([metric('error_score', 'max')], 'val_error_score')).toBe('max');
  });

  test('directions belong to their trainer: another trainer’s specs do not leak into this one', async () => {
    trainerWith([metric('coherence', 'max')]);
    const error = await resolvedAtFitStart([], 'coherence');
    expect(String(error)).toMatch(/TL_OPTION_INVALID.*coherence/);
  });

  test('a direction other than min/max is refused with TL_METRIC_UNKNOWN', () => {
    expect(() =>
      trainerWith([{ name: 'x', fn: tf.metrics.meanAbsoluteError, direction: 'up' } as never]),
    ).toThrow(/TL_METRIC_UNKNOWN.*direction/);
  });
});

describe('checkpoint() uses the same rule', () => {
  const data = classificationData(32);
  const scripted = (key: string, values: number[]) =>
    definePlugin({
      name: 'script',
      logKeys: [key],
      onEpochEnd: (_c, e) => {
        e.logs[key] = values[e.epoch]!;
      },
    });

  test('auto maximizes val_f1: the best checkpoint is the highest epoch', async () => {
    const dir = join(root, 'f1');
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [scripted('val_f1', [0.5, 0.7, 0.6]), checkpoint({ dir, monitor: 'val_f1', keepLast: false })],
      log: 'silent',
    });
    await t.fit(data, { epochs: 3, batchSize: 16 });
    expect((await readdir(dir)).filter((n) => !n.startsWith('.'))).toEqual(['best-epoch-0001']);
  });

  test('a monitor auto cannot read fails the fit before the first step', async () => {
    let steps = 0;
    const counter = definePlugin({
      name: 'steps',
      afterOptimizerStep: () => {
        steps += 1;
      },
    });
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [
        scripted('val_score', [1, 2]),
        checkpoint({ dir: join(root, 'score'), monitor: 'val_score' }),
        counter,
      ],
      log: 'silent',
    });
    const error = await t.fit(data, { epochs: 2, batchSize: 16 }).catch((e: unknown) => e);
    expect(core.isTensorloopError(error, 'TL_OPTION_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/val_score.*mode: 'max'/s);
    expect(steps).toBe(0);
  });
});
