import type { EpochRecord } from '@tensorloop/core';
import { describe, expect, test } from 'vitest';
import { describeTrend, formatValue } from './trend.js';

const records = (series: Record<string, number[]>): EpochRecord[] =>
  Object.values(series)[0]!.map((_, epoch) => ({
    epoch,
    fitIndex: 1,
    logs: Object.fromEntries(Object.entries(series).map(([k, v]) => [k, v[epoch]])),
  }));

describe('describeTrend', () => {
  test('validation worse while training better: overfitting', () => {
    const r = records({ val_loss: [1, 0.8, 0.9, 1.0, 1.1], loss: [1, 0.7, 0.6, 0.5, 0.4] });
    expect(describeTrend('val_loss', 'min', r)).toBe(
      'val_loss rising for 3 epochs while loss falls: overfitting',
    );
  });

  test('max mode speaks of falling accuracy', () => {
    const r = records({ val_accuracy: [0.5, 0.9, 0.85, 0.8], accuracy: [0.5, 0.8, 0.9, 0.95] });
    expect(describeTrend('val_accuracy', 'max', r)).toBe(
      'val_accuracy falling for 2 epochs while accuracy rises: overfitting',
    );
  });

  test('both getting worse: unstable training', () => {
    const r = records({ val_loss: [1, 1.2, 1.5], loss: [1, 1.1, 1.3] });
    expect(describeTrend('val_loss', 'min', r)).toBe(
      'val_loss rising for 2 epochs, and loss too: training is unstable (a learning rate too high?)',
    );
  });

  test('no counterpart, a single bad epoch, or a recovery: no overfitting claim', () => {
    expect(describeTrend('score', 'min', records({ score: [1, 2, 3] }))).toBe('score rising for 2 epochs');
    expect(describeTrend('val_loss', 'min', records({ val_loss: [1, 0.8, 0.9], loss: [1, 0.7, 0.6] }))).toBe(
      undefined,
    );
    expect(
      describeTrend('val_loss', 'min', records({ val_loss: [1, 1.1, 1.2, 0.5], loss: [1, 0.7, 0.6, 0.5] })),
    ).toBe(undefined);
  });
});

test('formatValue: four significant digits, non-finite spelled out', () => {
  expect([
    formatValue(0.123456),
    formatValue(1234.5678),
    formatValue(Number.NaN),
    formatValue(-Infinity),
  ]).toEqual(['0.1235', '1235', 'NaN', '-Infinity']);
});
