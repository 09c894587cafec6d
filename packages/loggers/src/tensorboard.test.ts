import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { definePlugin, sgd, stop } from '@tensorloop/core';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { listEventFiles, readEventFile } from './event-file.js';
import type { EventMessage } from './event-proto.js';
import { tensorBoard } from './tensorboard.js';
import { f32, failAt, smallData, smallTrainer, tempDir } from './test-helpers.js';
import { readRecords } from './tfrecord.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

let tmp: Awaited<ReturnType<typeof tempDir>>;
let data: ReturnType<typeof smallData>;
beforeEach(async () => {
  tmp = await tempDir();
  data = smallData();
});
afterEach(async () => {
  data.dispose();
  await tmp.cleanup();
});

async function eventsOf(runDir: string): Promise<EventMessage[]> {
  const files = await listEventFiles(runDir);
  expect(files).toHaveLength(1);
  return readEventFile(join(runDir, files[0]!));
}

const valuesOf = (events: EventMessage[], tag: string) =>
  events.flatMap((e) =>
    (e.summary?.value ?? []).filter((v) => v.tag === tag).map((v) => ({ step: e.step ?? 0, v })),
  );

describe('tensorBoard', () => {
  test('Keras layout: epoch_ scalars per run, batch_ scalars, lr per group, messages, stop reason, histograms; no tensor leaks', async () => {
    const logDir = join(tmp.dir, 'tb');
    const batches = new Map<number, number>();
    const weightsAt = new Map<number, Map<string, Float32Array>>();
    const tensorsAt: number[] = [];
    const observer = definePlugin({
      name: 'test:observer',
      enforce: 'post',
      after: ['@tensorloop/loggers:tensorboard'],
      needsBatchLogs: true,
      onBatchEnd(ctx, e) {
        if (e.stepped && e.logs) batches.set(ctx.time.step, e.logs.loss!);
      },
      onEpochEnd(ctx, e) {
        weightsAt.set(
          e.epoch,
          new Map(ctx.model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array])),
        );
        tensorsAt.push(tf.memory().numTensors);
      },
    });
    const talker = definePlugin({
      name: 'test:talker',
      onEpochEnd(ctx, e) {
        ctx.logger.info(`epoch ${e.epoch} looked fine`);
        if (e.epoch === 3) return stop('enough for a test');
      },
    });
    const { trainer } = smallTrainer(
      [talker, tensorBoard({ logDir, updateFreq: 3, histograms: { every: 2, match: /kernel$/ } }), observer],
      { optimizer: sgd({ lr: 0.1, momentum: 0.9, groups: [{ name: 'head', match: /^out\//, lr: 0.02 }] }) },
    );
    const { history } = await trainer.fit(data.train, { epochs: 6, batchSize: 8, validationData: data.val });
    expect(history).toHaveLength(4);

    const files = await listEventFiles(join(logDir, 'train'));
    expect(files[0]).toMatch(
      new RegExp(
        `^events\\.out\\.tfevents\\.\\d{10}\\.${hostname().replace(/[^A-Za-z0-9._-]/g, '_')}\\.${process.pid}\\.\\d+$`,
      ),
    );
    const train = await eventsOf(join(logDir, 'train'));
    const validation = await eventsOf(join(logDir, 'validation'));
    expect(train[0]).toMatchObject({ fileVersion: 'brain.Event:2' });
    expect(validation[0]).toMatchObject({ fileVersion: 'brain.Event:2' });

    for (const h of history) {
      for (const key of ['loss', 'accuracy', 'smooth_loss']) {
        expect(valuesOf(train, `epoch_${key}`).find((x) => x.step === h.epoch)?.v.simpleValue).toBe(
          f32(h.logs[key]!),
        );
      }
      for (const key of ['loss', 'accuracy']) {
        expect(valuesOf(validation, `epoch_${key}`).find((x) => x.step === h.epoch)?.v.simpleValue).toBe(
          f32(h.logs[`val_${key}`]!),
        );
      }
    }
    // Validation keys only in validation/, without their prefix.
    expect(train.some((e) => e.summary?.value.some((v) => v.tag.includes('val_')))).toBe(false);
    expect(valuesOf(train, 'epoch_lr/head').map((x) => x.v.simpleValue)).toEqual([
      f32(0.02),
      f32(0.02),
      f32(0.02),
      f32(0.02),
    ]);
    expect(valuesOf(train, 'epoch_lr').map((x) => x.step)).toEqual([0, 1, 2, 3]);
    expect(valuesOf(train, 'epoch_momentum')[0]?.v.simpleValue).toBe(f32(0.9));

    const batchLoss = valuesOf(train, 'batch_loss');
    expect(batchLoss.map((x) => x.step)).toEqual([3, 6, 9, 12, 15, 18, 21, 24]);
    for (const { step, v } of batchLoss) expect(v.simpleValue).toBe(f32(batches.get(step)!));
    expect(valuesOf(train, 'batch_lr/head')).toHaveLength(8);

    const texts = (tag: string) =>
      valuesOf(train, tag).map((x) => ({
        step: x.step,
        text: new TextDecoder().decode(x.v.tensor!.stringVal[0]),
      }));
    expect(valuesOf(train, 'messages')[0]?.v.metadata?.pluginData?.pluginName).toBe('text');
    expect(texts('messages').map((t) => t.text)).toEqual(
      [0, 1, 2, 3].map((e) => `**test:talker**: epoch ${e} looked fine`),
    );
    expect(texts('messages').map((t) => t.step)).toEqual([6, 12, 18, 24]);
    expect(texts('stop_reason')).toEqual([
      { step: 24, text: 'stopped by **test:talker** (onEpochEnd) at epoch 3, step 24: enough for a test' },
    ]);

    const histos = valuesOf(train, 'hidden/kernel/histogram');
    expect(histos.map((x) => x.step)).toEqual([0, 2]); // every 2 epochs
    expect(valuesOf(train, 'hidden/bias/histogram')).toEqual([]); // not matched
    for (const { step, v } of histos) {
      const w = weightsAt.get(step)!.get('hidden/kernel')!;
      expect(v.histo).toMatchObject({ num: w.length, min: Math.min(...w), max: Math.max(...w) });
      expect(v.histo!.sum).toBeCloseTo(
        w.reduce((a, b) => a + b, 0),
        10,
      );
      expect(v.histo!.bucket.reduce((a, b) => a + b, 0)).toBe(w.length);
      expect(v.histo!.bucketLimit.at(-1)).toBe(Math.max(...w));
    }
    // After the first epoch (warm-up), the tensor count does not grow with histograms and batch scalars.
    expect(new Set(tensorsAt.slice(1)).size).toBe(1);
  });

  test('every record of the file is framed with valid CRCs, and a flipped byte is detected', async () => {
    const logDir = join(tmp.dir, 'tb');
    const { trainer } = smallTrainer([tensorBoard({ logDir })]);
    await trainer.fit(data.train, { epochs: 2, batchSize: 8 });
    const dir = join(logDir, 'train');
    const bytes = new Uint8Array(await readFile(join(dir, (await listEventFiles(dir))[0]!)));
    expect(readRecords(bytes)).toHaveLength(3); // file version + 2 epochs
    bytes[bytes.length - 6]! ^= 0x40;
    expect(() => readRecords(bytes)).toThrow(/CRC mismatch/);
  });

  test('a fit that fails still leaves a complete, readable file that says why', async () => {
    const logDir = join(tmp.dir, 'tb');
    const { trainer } = smallTrainer([tensorBoard({ logDir }), failAt(1)]);
    await expect(trainer.fit(data.train, { epochs: 3, batchSize: 8 })).rejects.toThrow(/simulated crash/);
    const train = await eventsOf(join(logDir, 'train'));
    expect(valuesOf(train, 'epoch_loss').map((x) => x.step)).toEqual([0, 1]);
    const [reason] = valuesOf(train, 'stop_reason');
    expect(new TextDecoder().decode(reason!.v.tensor!.stringVal[0])).toMatch(
      /^\*\*the fit failed\*\* at epoch 1, step 12: .*simulated crash after epoch 1/,
    );
  });

  test('in a browser (no Node) it fails when made, with the way out', () => {
    const real = globalThis.process;
    Object.defineProperty(globalThis, 'process', { value: undefined, configurable: true, writable: true });
    let error: unknown;
    try {
      tensorBoard({ logDir: 'tb' });
    } catch (e) {
      error = e;
    } finally {
      Object.defineProperty(globalThis, 'process', { value: real, configurable: true, writable: true });
    }
    expect(String(error)).toMatch(/TL_OPTION_INVALID.*cannot run in a browser.*defineLogger/);
  });

  test('options are checked when the logger is made', () => {
    expect(() => tensorBoard({ logDir: '' })).toThrow(/logDir must be a folder path/);
    expect(() => tensorBoard({ logDir: 'x', updateFreq: 0 })).toThrow(
      /updateFreq must be 'epoch' or an integer/,
    );
    expect(() => tensorBoard({ logDir: 'x', histograms: { every: 1.5 } })).toThrow(/histograms.every/);
  });
});
