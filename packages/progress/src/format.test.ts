import { describe, expect, test } from 'vitest';
import {
  formatCount,
  formatDuration,
  formatHparamShort,
  formatLogs,
  formatValue,
  plainProgressLine,
  shortSource,
  summaryLine,
} from './format.js';
import { SampledSmoothing } from './smoothing.js';

describe('formatting', () => {
  test('values keep four decimals (tfjs#899), exponents at the extremes', () => {
    expect(formatValue(0.123456)).toBe('0.1235');
    expect(formatValue(2.302591)).toBe('2.3026');
    expect(formatValue(0.00012)).toBe('1.200e-4');
    expect(formatValue(123.456)).toBe('123.46');
    expect(formatValue(Number.NaN)).toBe('NaN');
    expect(formatValue(undefined)).toBe('-');
    expect(formatHparamShort(0.003)).toBe('3.00e-3');
    expect(formatHparamShort(0.95)).toBe('0.95');
  });

  test('durations, counts and sources', () => {
    expect(formatDuration(4200)).toBe('4.2s');
    expect(formatDuration(42_000)).toBe('42s');
    expect(formatDuration(65_000)).toBe('1:05');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(shortSource('@tensorloop/early-stopping')).toBe('early-stopping');
    expect(shortSource('my-plugin')).toBe('my-plugin');
  });

  test('an epoch summary: training keys, then validation keys, smooth_loss left out, then hyperparameters', () => {
    const logs = { val_loss: 0.3, loss: 0.5, smooth_loss: 0.51, accuracy: 0.9, val_accuracy: 0.91 };
    expect(formatLogs(logs)).toBe('loss 0.5000 · accuracy 0.9000 · val_loss 0.3000 · val_accuracy 0.9100');
    expect(
      summaryLine({
        epoch: 2,
        epochs: 10,
        ms: 4200,
        samplesPerSecond: 1530.4,
        logs: { loss: 0.312 },
        hparams: [{ label: 'lr', value: 0.003 }],
        partial: true,
      }),
    ).toBe('epoch 3/10 (cut short) · 4.2s · 1,530 samples/s · loss 0.3120 · lr 3.00e-3');
    expect(
      plainProgressLine({
        epoch: 0,
        epochs: 2,
        steps: 30,
        totalSteps: 120,
        samplesPerSecond: 800,
        etaMs: 9000,
        fitEtaMs: 30_000,
        loss: 0.7,
        phase: 'train',
      }),
    ).toBe('epoch 1/2 · 30/120 steps (25%) · 800 samples/s · ETA 9.0s (fit 30s) · loss 0.7000');
  });
});

describe('smoothed loss from samples', () => {
  test('sampling every batch equals the per-batch debiased moving average (fastai smooth loss)', () => {
    const losses = [2.3, 2.1, 1.9, 1.95, 1.7, 1.6];
    const s = new SampledSmoothing(0.98);
    let avg = 0;
    losses.forEach((l, i) => {
      s.add(l, 1);
      avg = 0.98 * avg + 0.02 * l;
      expect(s.value).toBeCloseTo(avg / (1 - 0.98 ** (i + 1)), 12);
    });
  });

  test('a sample k batches later counts as k batches of that loss', () => {
    const sparse = new SampledSmoothing(0.9);
    sparse.add(2, 1);
    sparse.add(1, 4);
    const dense = new SampledSmoothing(0.9);
    for (const l of [2, 1, 1, 1, 1]) dense.add(l, 1);
    expect(sparse.value).toBeCloseTo(dense.value!, 12);
    expect(new SampledSmoothing(0.9).value).toBeUndefined();
  });
});
