import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { checkpoint, sgd, Trainer } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import { cosine, schedule } from '@tensorloop/lr-schedules';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { dataParallel } from './index.js';
import { digits, maxDiff, mlp, threadProbe, train, useWasm } from './test-helpers.js';

beforeAll(useWasm);
afterEach(() => {
  vi.restoreAllMocks();
});

describe('plugins run unchanged on the main thread', () => {
  test('early stopping and an lr schedule make the same decisions with and without workers', async () => {
    const data = digits(16);
    const plugins = () => [
      earlyStopping({ monitor: 'val_loss', patience: 1, minDelta: 0.05 }),
      schedule({ fn: cosine({ from: 0.2, to: 0.01 }) }),
    ];
    const options = { epochs: 8, validation: true, batchSize: 31 };
    const reference = await train(data, { model: mlp(), plugins: plugins(), ...options });
    const parallel = await train(data, {
      model: mlp(),
      plugins: [...plugins(), dataParallel({ workers: 2 })],
      ...options,
    });
    expect(reference.stopReason).toBeDefined();
    expect(parallel.history.length).toBe(reference.history.length);
    expect(reference.history.length).toBeLessThan(8);
    expect(parallel.stopReason).toBe(reference.stopReason);
    expect(maxDiff(parallel.weights, reference.weights)).toBeLessThan(1e-5);
    tf.dispose([data.x, data.y]);
  });

  test('checkpoint + resume: 2 epochs, save, resume in a new trainer for 2 more = 4 epochs in one go', async () => {
    const data = digits(10);
    const dir = mkdtempSync(path.join(tmpdir(), 'tl-dp-'));
    try {
      const whole = await train(data, { model: mlp(), epochs: 4, plugins: [dataParallel({ workers: 2 })] });
      const first = new Trainer({
        model: mlp(),
        loss: 'categoricalCrossentropy',
        metrics: ['accuracy'],
        optimizer: sgd({ lr: 0.1 }),
        seed: 11,
        log: 'silent',
        plugins: [dataParallel({ workers: 2 }), checkpoint({ dir })],
      });
      await first.fit(data, { epochs: 2, batchSize: 64 });
      const model = mlp(99); // other initial weights: the checkpoint must bring them back
      const second = new Trainer({
        model,
        loss: 'categoricalCrossentropy',
        metrics: ['accuracy'],
        optimizer: sgd({ lr: 0.1 }),
        seed: 11,
        log: 'silent',
        plugins: [dataParallel({ workers: 2 })],
      });
      const resumed = await second.fit(data, {
        epochs: 4,
        batchSize: 64,
        resumeFrom: path.join(dir, 'last'),
      });
      expect(resumed.history.length).toBe(4); // the restored epochs and the two new ones
      expect(second.time.epoch).toBe(4);
      const weights = model.weights.map((w) => w.read().dataSync() as Float32Array);
      expect(maxDiff(weights, whole.weights)).toBeLessThan(1e-6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      tf.dispose([data.x, data.y]);
    }
  });
});

describe('fallback to one thread, with a message', () => {
  test('no SharedArrayBuffer: one thread, a warning, and the same result', async () => {
    const data = digits(8);
    const reference = await train(data, { model: mlp(), epochs: 1 });
    const saved = globalThis.SharedArrayBuffer;
    // biome-ignore lint/suspicious/noExplicitAny: simulating a runtime without shared memory
    delete (globalThis as any).SharedArrayBuffer;
    const probe = threadProbe();
    let parallel: Awaited<ReturnType<typeof train>>;
    try {
      parallel = await train(data, {
        model: mlp(),
        epochs: 1,
        plugins: [dataParallel({ workers: 2 }), probe],
      });
    } finally {
      globalThis.SharedArrayBuffer = saved;
    }
    expect(new Set(probe.seen)).toEqual(new Set([1]));
    const warning = parallel.messages.find((m) => m.source === '@tensorloop/data-parallel');
    expect(warning?.level).toBe('warn');
    expect(warning?.message).toMatch(/SharedArrayBuffer is not available.*main thread only/);
    expect(maxDiff(parallel.weights, reference.weights)).toBe(0);
    tf.dispose([data.x, data.y]);
  });

  test('wasm cannot start in the worker: one thread, a warning naming the cause', async () => {
    const data = digits(8);
    const probe = threadProbe();
    const run = await train(data, {
      model: mlp(),
      epochs: 1,
      plugins: [dataParallel({ workers: 2, wasmPaths: '/nonexistent/wasm/', timeoutMs: 30_000 }), probe],
    });
    expect(new Set(probe.seen)).toEqual(new Set([1]));
    const warning = run.messages.find((m) => m.source === '@tensorloop/data-parallel');
    expect(warning?.message).toMatch(/could not start .*training with 1 thread instead of 2/);
    tf.dispose([data.x, data.y]);
  });

  test('a custom loss function trains on the main thread, and says so once', async () => {
    const data = digits(8);
    const messages: string[] = [];
    const trainer = new Trainer({
      model: mlp(),
      loss: function myLoss(yTrue, yPred) {
        return tf.metrics.categoricalCrossentropy(yTrue, yPred);
      },
      optimizer: sgd({ lr: 0.1 }),
      log: (e) => messages.push(e.message),
      plugins: [dataParallel({ workers: 2 })],
    });
    await trainer.fit(data, { epochs: 1, batchSize: 32 });
    expect(messages.filter((m) => m.includes('the loss is a function'))).toHaveLength(1);
    tf.dispose([data.x, data.y]);
  });

  test('invalid options fail at once with TL_OPTION_INVALID', () => {
    expect(() => dataParallel({ workers: 0 })).toThrow(/TL_OPTION_INVALID.*workers must be an integer/);
    expect(() => dataParallel({ wokers: 2 } as never)).toThrow(/TL_OPTION_INVALID.*workers/);
  });
});

describe('no leaks, workers cleaned up', () => {
  test('tensor count is flat across batches and fits; each fit ends its workers', async () => {
    const terminate = vi.spyOn(Worker.prototype, 'terminate');
    const data = digits(8);
    const counts: number[] = [];
    const probe = { name: 'memory-probe', onBatchEnd: () => void counts.push(tf.memory().numTensors) };
    const dp = dataParallel({ workers: 2 });
    const trainer = new Trainer({
      model: mlp(),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: sgd({ lr: 0.1 }),
      log: 'silent',
      plugins: [dp, probe],
    });
    await trainer.fit(data, { epochs: 1, batchSize: 16 });
    expect(terminate).toHaveBeenCalledTimes(1);
    const afterFirst = tf.memory().numTensors;
    const fits = [counts.splice(0)];
    for (let i = 0; i < 2; i++) {
      await trainer.fit(data, { epochs: 1, batchSize: 16 });
      expect(tf.memory().numTensors).toBe(afterFirst);
      fits.push(counts.splice(0));
    }
    expect(terminate).toHaveBeenCalledTimes(3);
    // Inside an epoch only core's pending log rows accumulate (one per batch, read at epoch end).
    expect(fits[1]).toEqual(fits[0]);
    expect(fits[2]).toEqual(fits[0]);
    expect(fits[0]!.slice(1).map((n, i) => n - fits[0]![i]!)).toEqual([1, 1, 1, 1]);
    expect(dp.api?.threads).toBe(1); // no worker after the fit
    tf.dispose([data.x, data.y]);
  });

  test('an error in a hook ends the fit and its workers, without hanging', async () => {
    const terminate = vi.spyOn(Worker.prototype, 'terminate');
    const data = digits(8);
    const failing = {
      name: 'failing',
      onBatchEnd: (ctx: { time: { batch: number } }) => {
        if (ctx.time.batch === 2) throw new Error('boom');
      },
    };
    const dp = dataParallel({ workers: 2 });
    const trainer = new Trainer({
      model: mlp(),
      loss: 'categoricalCrossentropy',
      optimizer: sgd({ lr: 0.1 }),
      log: 'silent',
      plugins: [dp, failing],
    });
    await expect(trainer.fit(data, { epochs: 1, batchSize: 16 })).rejects.toThrow(/boom/);
    expect(terminate).toHaveBeenCalled();
    expect(dp.api?.threads).toBe(1);
    tf.dispose([data.x, data.y]);
  });
});
