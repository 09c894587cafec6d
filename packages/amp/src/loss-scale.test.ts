import * as tf from '@tensorflow/tfjs';
import { adamw, definePlugin, Trainer } from '@tensorloop/core';
import { beforeAll, describe, expect, test, vi } from 'vitest';
import { amp } from './index.js';
import { mnistMlp, mnistTensors, overflowAt, watcher } from './test-helpers.js';

/** What amp is told about the backend's storage (undefined: the real answer). */
const halfFloats = vi.hoisted(() => ({ stored: undefined as boolean | undefined }));
vi.mock('./half-floats.js', async (original) => {
  const real = await original<typeof import('./half-floats.js')>();
  return { backendStoresHalfFloats: () => halfFloats.stored ?? real.backendStoresHalfFloats() };
});

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const data = mnistTensors(8); // 80 real digits: 8 batches of 10

/** Reads batch logs every batch, so the loss scale is on the host after each step. */
const everyBatch = () => definePlugin({ name: 'test:batch-logs', needsBatchLogs: true });

const optimizers = {
  'tf.train.adam': () => tf.train.adam(1e-3),
  'core adamw': () => adamw({ lr: 1e-3 }),
} as const;

describe.each(['host', 'device'] as const)('an injected overflow with stepGate: %s', (stepGate) => {
  for (const [label, makeOptimizer] of Object.entries(optimizers)) {
    test(`${label}: the step is skipped, weights and optimizer slots keep their bits, the scale halves`, async () => {
      let trainer: Trainer | undefined;
      const watch = watcher(() => trainer!);
      trainer = new Trainer({
        model: mnistMlp(),
        loss: 'categoricalCrossentropy',
        optimizer: makeOptimizer(),
        // Batch 0 overflows too: the optimizer's slots are born in a skipped step.
        plugins: [amp({ initialScale: 1024 }), overflowAt([0, 5]), watch.plugin],
        stepGate,
        log: 'silent',
      });
      const { history, time } = await trainer.fit(data, { epochs: 1, batchSize: 10, shuffle: false });
      expect(watch.rows.map((r) => r.unchanged)).toEqual([
        true,
        false,
        false,
        false,
        false,
        true,
        false,
        false,
      ]);
      expect(history[0]!.logs).toMatchObject({ loss_scale: 256, skipped_steps: 2 });
      expect(time.step).toBe(6);
      expect(watch.rows.map((r) => r.stepped)).toEqual(
        stepGate === 'host' ? [false, true, true, true, true, false, true, true] : Array(8).fill(true),
      );
      expect(trainer.contextFor('x').plugin('@tensorloop/amp')).toMatchObject({
        lossScale: 256,
        skippedSteps: 2,
      });
      expect(Number.isFinite(history[0]!.logs.loss)).toBe(true);
    });
  }
});

describe('dynamic scale', () => {
  test('grows by growthFactor after growthInterval finite steps in a row; an overflow restarts the count', async () => {
    let trainer: Trainer | undefined;
    const watch = watcher(() => trainer!);
    trainer = new Trainer({
      model: mnistMlp(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(1e-3),
      plugins: [amp({ initialScale: 4, growthInterval: 3 }), overflowAt([4]), everyBatch(), watch.plugin],
      log: 'silent',
    });
    await trainer.fit(data, { epochs: 1, batchSize: 10, shuffle: false });
    // After each step: 1, 2 good → grows at the 3rd; batch 4 overflows (back to 4); 3 more good → 8.
    expect(watch.rows.map((r) => r.lossScale)).toEqual([4, 4, 8, 8, 4, 4, 4, 8]);
  });

  test('on a backend that stores half floats (WebGL f16 textures) the scale stops at 2^15 without halfFloatTextures', async () => {
    // Node has no WebGL: amp's reading of the backend is faked (half-floats.ts; its own test is below).
    const grownTo = async (storesHalfFloats: boolean) => {
      halfFloats.stored = storesHalfFloats;
      try {
        const trainer = new Trainer({
          model: mnistMlp(),
          loss: 'categoricalCrossentropy',
          optimizer: tf.train.sgd(1e-3),
          plugins: [amp({ initialScale: 2 ** 13, growthInterval: 1 })],
          log: 'silent',
        });
        const { history } = await trainer.fit(data, { epochs: 1, batchSize: 10, shuffle: false });
        return history[0]!.logs.loss_scale;
      } finally {
        halfFloats.stored = undefined;
      }
    };
    // 8 steps growing ×2 each: 2^21 in float32 storage; a half float holds at most 65504.
    expect(await grownTo(false)).toBe(2 ** 21);
    expect(await grownTo(true)).toBe(2 ** 15);
  });

  test('backs off to minScale, not below; an overflow there stops the fit naming the step', async () => {
    const trainer = new Trainer({
      model: mnistMlp(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(1e-3),
      plugins: [amp({ initialScale: 8, minScale: 2 }), overflowAt([1, 2, 3, 4, 5, 6, 7])],
      log: 'silent',
    });
    const { history, stopReason, time } = await trainer.fit(data, {
      epochs: 3,
      batchSize: 10,
      shuffle: false,
    });
    // 8 → 4 → 2 (batches 1, 2); batch 3 overflows at 2: collapsed, reported at the epoch end.
    expect(history).toHaveLength(1);
    expect(history[0]!.logs).toMatchObject({ loss_scale: 2, skipped_steps: 7 });
    expect(time.step).toBe(1);
    expect(stopReason?.by).toBe('@tensorloop/amp');
    expect(stopReason?.message).toContain('step 1 (epoch 0)');
    expect(stopReason?.message).toContain('minScale 2');
  });

  test('with batch logs read every batch, the collapse stops the fit at the batch it is read', async () => {
    const trainer = new Trainer({
      model: mnistMlp(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(1e-3),
      plugins: [amp({ initialScale: 2, minScale: 2 }), overflowAt([2, 3])],
      logEvery: 1,
      log: 'silent',
    });
    const { stopReason, time } = await trainer.fit(data, { epochs: 1, batchSize: 10, shuffle: false });
    expect(time.batch).toBe(3);
    expect(stopReason).toMatchObject({ by: '@tensorloop/amp', hook: 'onBatchEnd' });
    expect(stopReason?.message).toContain('step 2 (epoch 0)');
  });

  test('a static scale never changes; an overflowing step is still skipped and counted', async () => {
    const trainer = new Trainer({
      model: mnistMlp(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(1e-3),
      plugins: [amp({ lossScale: 128 }), overflowAt([1, 3, 9])],
      log: 'silent',
    });
    const { history, stopReason, time } = await trainer.fit(data, {
      epochs: 2,
      batchSize: 10,
      shuffle: false,
    });
    expect(history.map((h) => [h.logs.loss_scale, h.logs.skipped_steps])).toEqual([
      [128, 2],
      [128, 1],
    ]);
    expect(time.step).toBe(13);
    expect(stopReason).toBeUndefined();
  });
});

describe('options', () => {
  test('bad values fail at construction with TL_OPTION_INVALID', () => {
    expect(() => amp({ growthFactor: 1 })).toThrow(/growthFactor must be > 1/);
    expect(() => amp({ backoffFactor: 1.5 })).toThrow(/backoffFactor must be in \(0, 1\)/);
    expect(() => amp({ growthInterval: 0.5 })).toThrow(/growthInterval must be an integer/);
    expect(() => amp({ minScale: 10, initialScale: 4 })).toThrow(/must not exceed initialScale/);
    expect(() => amp({ lossScale: 0 })).toThrow(/lossScale must be a finite number > 0/);
    expect(() => amp({ lossScale: 'auto' as never })).toThrow(/lossScale must be 'dynamic' or a number/);
    expect(() => amp({ lossScale: 64, growthInterval: 10 })).toThrow(
      /growthInterval applies to lossScale: 'dynamic'/,
    );
    expect(() => amp({ precision: 'half' as never })).toThrow(
      /precision must be one of 'float32', 'float16', 'bfloat16'/,
    );
    expect(() => amp({ halfFloatTextures: true })).toThrow(/halfFloatTextures needs precision: 'float16'/);
    expect(() => amp({ init_scale: 2 } as never)).toThrow(
      /unknown option "init_scale"; did you mean "initialScale"/,
    );
    try {
      amp({ growthFactor: 0.5 });
    } catch (e) {
      expect((e as { code?: string }).code).toBe('TL_OPTION_INVALID');
    }
  });
});

describe('backendStoresHalfFloats', () => {
  test('true only for WebGL reporting 16-bit floats', async () => {
    const { backendStoresHalfFloats } =
      await vi.importActual<typeof import('./half-floats.js')>('./half-floats.js');
    expect(backendStoresHalfFloats('webgl', { floatPrecision: () => 16 })).toBe(true);
    expect(backendStoresHalfFloats('webgl', { floatPrecision: () => 32 })).toBe(false);
    expect(backendStoresHalfFloats('wasm', { floatPrecision: () => 16 })).toBe(false);
    expect(backendStoresHalfFloats('webgl', {})).toBe(false);
    expect(backendStoresHalfFloats()).toBe(false); // cpu here
  });
});
