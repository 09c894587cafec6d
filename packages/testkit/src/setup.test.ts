import * as tf from '@tensorflow/tfjs';
import { adam, isTensorloopError, type TensorloopOptimizer } from '@tensorloop/core';
import { describe, expect, test } from 'vitest';
import { classificationData, mnistDigits, regressionData } from './data.js';
import { runWithPlugins } from './run.js';
import { buildOptimizer, buildRun, resolveSetup } from './setup.js';

describe('data', () => {
  test('mnistDigits: real digits, class order, deterministic, values in [0, 1]', () => {
    const a = mnistDigits(3, 10);
    const b = mnistDigits(3, 10);
    expect(a.x.shape).toEqual([30, 784]);
    expect(Array.from(tf.argMax(a.y, 1).dataSync())).toEqual([
      0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9, 9,
    ]);
    expect(Array.from(a.x.dataSync())).toEqual(Array.from(b.x.dataSync()));
    expect(a.x.max().dataSync()[0]).toBeLessThanOrEqual(1);
    tf.dispose([a.x, a.y, b.x, b.y]);
    expect(() => mnistDigits(0)).toThrow(/perClass must be an integer in \[1, 1000\]; got 0/);
  });

  test('synthetic sets are seeded; regression noise is what was asked for', () => {
    const c = classificationData(20, { classes: 4 });
    expect(c.y.shape).toEqual([20, 4]);
    expect(c.y.sum().dataSync()[0]).toBe(20);
    const clean = regressionData(400, { noise: 0 });
    const again = regressionData(400, { noise: 0 });
    const noisy = regressionData(400, { noise: 0.05 });
    expect(Array.from(clean.y.dataSync())).toEqual(Array.from(again.y.dataSync()));
    const residual = tf.sub(noisy.y, clean.y);
    const std = Math.sqrt(tf.moments(residual).variance.dataSync()[0]!);
    expect(std).toBeGreaterThan(0.04);
    expect(std).toBeLessThan(0.06);
    tf.dispose([c.x, c.y, clean.x, clean.y, again.x, again.y, noisy.x, noisy.y, residual]);
  });
});

describe('setup', () => {
  test('defaults: 64 rows in batches of 16, 32 validation rows, 3 epochs, core adam at 0.01', () => {
    const s = resolveSetup();
    expect(s).toMatchObject({
      task: 'classification',
      samples: 64,
      validationSamples: 32,
      epochs: 3,
      batchSize: 16,
    });
    expect(s.optimizer).toEqual({ type: 'adam', lr: 0.01 });
    expect(resolveSetup({ task: 'mnist' })).toMatchObject({
      samples: 100,
      validationSamples: 50,
      hidden: 32,
    });
  });

  test('bad setups fail with TL_OPTION_INVALID and say what is expected', () => {
    expect(() => resolveSetup({ epochs: 0 })).toThrow(/setup\.epochs must be an integer ≥ 1; got 0/);
    expect(() => resolveSetup({ task: 'mnist', samples: 25 })).toThrow(/multiple of 10/);
    try {
      buildOptimizer({ type: 'lion' as 'adam' });
    } catch (error) {
      expect(isTensorloopError(error, 'TL_OPTION_INVALID')).toBe(true);
    }
  });

  test('optimizer specs build core optimizers with param groups (pattern = RegExp source)', () => {
    const opt = buildOptimizer({
      type: 'adamw',
      lr: 0.003,
      groups: [{ name: 'head', pattern: '^tk_out/', lr: 0.001 }],
    });
    const run = buildRun([], {
      optimizer: { type: 'adamw', lr: 0.003, groups: [{ name: 'head', pattern: '^tk_out/', lr: 0.001 }] },
    });
    const groups = (run.trainer.optimizer as TensorloopOptimizer).groups;
    expect(groups.map((g) => [g.name, g.hparams.lr, g.variables])).toEqual([
      ['head', 0.001, ['tk_out/kernel', 'tk_out/bias']],
      ['default', 0.003, ['tk_hidden/kernel', 'tk_hidden/bias']],
    ]);
    run.dispose();
    (opt as TensorloopOptimizer).dispose();
    expect(adam).toBeTypeOf('function');
  });

  test('runWithPlugins trains a tiny model with the plugins and hands back the trainer', async () => {
    const seen: number[] = [];
    const run = await runWithPlugins([{ name: 'probe', onEpochEnd: (_c, e) => void seen.push(e.epoch) }], {
      task: 'regression',
      fits: [2, 1],
    });
    expect(seen).toEqual([0, 1, 2]);
    expect(run.results).toHaveLength(2);
    expect(run.result.history.map((h) => h.epoch)).toEqual([2]);
    expect(run.trainer.history[0]!.logs).toHaveProperty('val_mae');
    expect(run.trainer.history[2]!.logs.loss).toBeLessThan(run.trainer.history[0]!.logs.loss!);
    run.dispose();
  });
});
