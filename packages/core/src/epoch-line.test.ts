// Core's one line per epoch (issue 22, point 4) and tfjs's `verbose` (point 1).
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { formatEpochLine, formatLogValue } from './epoch-line.js';
import { TensorloopError } from './errors.js';
import { definePlugin, type LogEntry, type Plugin } from './plugin.js';
import { classificationData, tinyClassifier } from './test-helpers.js';
import { Trainer, type TrainerOptions } from './trainer.js';
import { PROGRESS_PACKAGE, progressForVerbose } from './verbose.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => {
  vi.restoreAllMocks();
});

const make = (options: Partial<TrainerOptions> = {}) =>
  new Trainer({
    model: tinyClassifier(),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: tf.train.sgd(0.1),
    ...options,
  });

const lines = (entries: LogEntry[]) =>
  entries.filter((e) => e.source === 'trainer' && e.message.startsWith('epoch ')).map((e) => e.message);

describe('the line', () => {
  test('loss first, then val_loss, the metrics, and the epoch time; no smooth_loss or lr', () => {
    const logs = {
      loss: 0.41234,
      accuracy: 0.8704,
      smooth_loss: 0.4,
      lr: 0.1,
      val_loss: 0.39812,
      val_accuracy: 0.9,
    };
    expect(formatEpochLine(2, 10, logs, 2.14)).toBe(
      'epoch 3/10 · loss 0.412 · val_loss 0.398 · accuracy 0.87 · val_accuracy 0.9 · 2.1 s',
    );
    expect(formatEpochLine(0, 1, { loss: 1 }, 0.04, true)).toBe('epoch 1/1 (cut short) · loss 1 · 0.0 s');
  });

  test.each([
    [0.000123, '1.2e-4'],
    [123456, '1.2e+5'],
    [12.345, '12.3'],
    [0, '0'],
    [Number.NaN, 'NaN'],
  ])('%s reads %s', (v, text) => {
    expect(formatLogValue(v)).toBe(text);
  });
});

describe('printed by default, once per epoch, through the log', () => {
  test('the line carries the epoch’s own logs', async () => {
    const entries: LogEntry[] = [];
    const t = make({ log: (e) => entries.push(e) });
    const { history } = await t.fit(classificationData(16), {
      epochs: 2,
      batchSize: 8,
      validationData: classificationData(8, 4, 3, 11),
    });
    const printed = lines(entries);
    expect(printed).toHaveLength(2);
    history.forEach((h, i) => {
      expect(printed[i]).toContain(`epoch ${i + 1}/2 · loss ${formatLogValue(h.logs.loss!)} · val_loss`);
      expect(printed[i]).toContain(`val_accuracy ${formatLogValue(h.logs.val_accuracy!)}`);
      expect(printed[i]).toMatch(/ · \d+\.\d s$/);
    });
  });

  test('on the console by default', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await make().fit(classificationData(8), { epochs: 2, batchSize: 8 });
    const printed = log.mock.calls.map((c) => String(c[0])).filter((m) => m.startsWith('[trainer] epoch '));
    expect(printed).toHaveLength(2);
    expect(printed[1]).toMatch(/^\[trainer\] epoch 2\/2 · loss /);
  });

  test("log: 'silent' prints nothing", async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await make({ log: 'silent' }).fit(classificationData(8), { epochs: 2, batchSize: 8 });
    expect(log).not.toHaveBeenCalled();
  });

  test.each([
    [0, 0],
    [1, 2], // @tensorloop/progress is not installed here: lines instead of a bar
    [2, 2],
  ] as const)('verbose: %s → %s lines', async (verbose, count) => {
    const entries: LogEntry[] = [];
    const t = make({ log: (e) => entries.push(e) });
    await t.fit(classificationData(8), { epochs: 2, batchSize: 8, verbose });
    expect(lines(entries)).toHaveLength(count);
  });

  test('plugins subscribed to the logger do not get it (they have the logs)', async () => {
    const entries: LogEntry[] = [];
    const seen: LogEntry[] = [];
    const listener = definePlugin({
      name: 'listener',
      onFitStart: (ctx) => void ctx.logger.subscribe((e) => seen.push(e)),
      onEpochEnd: (ctx) => ctx.logger.info('noted'),
    });
    await make({ log: (e) => entries.push(e), plugins: [listener] }).fit(classificationData(8), {
      epochs: 2,
      batchSize: 8,
    });
    expect(lines(entries)).toHaveLength(2);
    expect(lines(seen)).toEqual([]);
    expect(seen.map((e) => e.message)).toEqual(['noted', 'noted']);
  });

  test('a plugin that prints its own summary turns the line off', async () => {
    const entries: LogEntry[] = [];
    const bar = definePlugin({ name: 'bar', printsEpochSummary: true, onEpochEnd: () => {} });
    await make({ log: (e) => entries.push(e), plugins: [bar] }).fit(classificationData(8), {
      epochs: 2,
      batchSize: 8,
    });
    expect(lines(entries)).toEqual([]);
  });

  test('verbose must be 0, 1 or 2', async () => {
    const t = make({ log: 'silent' });
    const e = await t.fit(classificationData(8), { epochs: 1, verbose: 3 as never }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TensorloopError);
    expect((e as TensorloopError).code).toBe('TL_OPTION_INVALID');
    expect((e as TensorloopError).message).toContain('verbose must be 0 (silent), 1');
  });
});

describe('verbose: 1 loads @tensorloop/progress by name when it is installed', () => {
  const bar: Plugin = { name: PROGRESS_PACKAGE, printsEpochSummary: true };
  const installed = async (specifier: string) => {
    expect(specifier).toBe(PROGRESS_PACKAGE);
    return { progress: () => bar };
  };
  const missing = async (specifier: string) => {
    throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
  };

  test('installed: its plugin; missing: none (the fit prints lines)', async () => {
    expect(await progressForVerbose(1, [], installed)).toBe(bar);
    expect(await progressForVerbose(1, [], missing)).toBeUndefined();
  });

  test('not for verbose 0, 2 or unset, nor when it is registered already', async () => {
    for (const v of [0, 2, undefined] as const)
      expect(await progressForVerbose(v, [], installed)).toBeUndefined();
    expect(await progressForVerbose(1, [bar], installed)).toBeUndefined();
  });

  test('installed but broken: the error says so', async () => {
    const broken = async () => {
      throw new SyntaxError('Unexpected token');
    };
    const e = await progressForVerbose(1, [], broken).catch((x: unknown) => x);
    expect((e as TensorloopError).message).toContain('failed to load: Unexpected token');
    expect((e as TensorloopError).message).toContain('verbose: 2');
  });
});
