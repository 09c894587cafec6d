import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { type BatchEndEvent, checkpoint, definePlugin, type Plugin } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { progress } from './index.js';
import { captureStream, digitTrainer, mnistTensors, parseSummary, screen } from './test-helpers.js';

// Events other packages will declare; here a test plugin plays their part.
declare module '@tensorloop/core' {
  interface HookEvents {
    'finetune:transition': {
      readonly phase: number;
      readonly name?: string;
      readonly unfrozen?: readonly string[];
    };
    'meta:stageStart': { readonly stage: number; readonly name?: string };
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** A plugin earlier in the order that writes scripted values into the epoch logs. */
const script = (key: string, values: readonly number[]) =>
  definePlugin({
    name: 'test:script',
    logKeys: [key],
    onEpochEnd(_ctx, e) {
      const v = values[e.epoch];
      if (v !== undefined) e.logs[key] = v;
    },
  });

describe('without a terminal: plain lines', () => {
  test('a header, one summary per epoch with its logs, plugin messages under it, and the stop reason', async () => {
    const out = captureStream(false);
    const data = mnistTensors(20);
    const val = mnistTensors(5, 200);
    const trainer = digitTrainer([
      script('val_score', [0.5, 0.6, 0.55, 0.54, 0.53]),
      earlyStopping({ monitor: 'val_score', mode: 'max', patience: 1 }),
      progress({ stream: out }),
    ]);
    const { history } = await trainer.fit(data, { epochs: 5, batchSize: 10, validationData: val });
    const text = out.text();
    expect(text).not.toContain('\x1b'); // no control sequences in a log file
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('fit 1 · 5 epochs × 20 steps · batch 10 · validation each epoch');
    const summaries = lines.filter((l) => /^epoch \d\/5 · /.test(l));
    expect(summaries).toHaveLength(history.length);
    expect(history).toHaveLength(3); // stopped by early stopping at the third epoch
    summaries.forEach((line, i) => {
      const shown = parseSummary(line);
      const logs = history[i]!.logs;
      for (const key of ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'val_score']) {
        expect(shown[key], `${key} in "${line}"`).toBeCloseTo(logs[key]!, 4);
      }
      expect(line).toMatch(/ · [\d,]+ samples\/s · /);
      expect(shown.lr).toBeCloseTo(3e-3, 6);
      // the epoch's early-stopping sentence comes right under its summary
      expect(lines[lines.indexOf(line) + 1]).toMatch(/^ {2}early-stopping: /);
    });
    expect(lines.at(-1)).toMatch(
      /^stopped after 3 of 5 epochs by early-stopping: no improvement in val_score for 1 epochs? \(best val_score 0\.6 at epoch 1\)/,
    );
    tf.dispose([data.x, data.y, val.x, val.y]);
  });

  test('a progress line inside epochs longer than plainEveryMs, none otherwise', async () => {
    let fake = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => fake);
    const ticker = definePlugin({
      name: 'test:ticker',
      onBatchStart: () => {
        fake += 100;
      },
    });
    const out = captureStream(false);
    const data = mnistTensors(20);
    await digitTrainer([ticker, progress({ stream: out, plainEveryMs: 1000 })]).fit(data, {
      epochs: 1,
      batchSize: 10,
    });
    // 20 batches of 100 ms: lines at 1 s and 2 s into the epoch.
    const live = out
      .text()
      .split('\n')
      .filter((l) => / steps \(\d+%\)/.test(l));
    expect(live).toEqual([
      expect.stringMatching(
        /^epoch 1\/1 · 10\/20 steps \(50%\) · [\d,]+ samples\/s · ETA 1\.0s · loss \d\.\d{4}$/,
      ),
      expect.stringMatching(/^epoch 1\/1 · 20\/20 steps \(100%\) · /),
    ]);
    tf.dispose([data.x, data.y]);
  });
});

describe('on a terminal: a cli-progress bar', () => {
  test('a bar per epoch redrawn in place; the screen ends with the summaries, no bar left', async () => {
    const out = captureStream(true, 160);
    const data = mnistTensors(30);
    // A slow batch so that some redraws happen at refreshMs 20.
    const slow = definePlugin({
      name: 'test:slow',
      onBatchEnd: () => new Promise<undefined>((r) => setTimeout(() => r(undefined), 4)),
    });
    const trainer = digitTrainer([slow, progress({ stream: out, refreshMs: 20 })]);
    const { history } = await trainer.fit(data, { epochs: 2, batchSize: 10 });
    const text = out.text();
    expect(text).toContain('\x1b[?7l'); // cli-progress turned line wrapping off while drawing
    expect(text).toContain('\x1b[?7h'); // and back on
    const frames = text.split('\x1b[1G').filter((f) => /^epoch \d\/2 [█░]{24} \d+\/30 steps · /.test(f));
    expect(frames.length).toBeGreaterThan(4);
    expect(frames.some((f) => /ETA \d/.test(f) && /loss \d\.\d{4}/.test(f))).toBe(true);
    const shown = screen(text);
    expect(shown[0]).toBe('fit 1 · 2 epochs × 30 steps · batch 10');
    expect(shown.slice(1, 3).map((l) => parseSummary(l).loss)).toEqual(
      history.map((h) => Number(h.logs.loss!.toFixed(4))),
    );
    expect(shown[3]).toMatch(/^done: 2 of 2 epochs in \d/);
    expect(shown).toHaveLength(4);
    expect(shown.join('\n')).not.toMatch(/[█░]/);
    tf.dispose([data.x, data.y]);
  });

  test('a message during an epoch is printed above the bar, which comes back below it', async () => {
    const out = captureStream(true, 160);
    const data = mnistTensors(20);
    const talker = definePlugin({
      name: 'test:talker',
      onBatchEnd(ctx, e) {
        if (e.batch === 10) ctx.logger.warn('batch 10 looked odd');
      },
    });
    await digitTrainer([talker, progress({ stream: out, refreshMs: 0 })]).fit(data, {
      epochs: 1,
      batchSize: 10,
    });
    const shown = screen(out.text());
    expect(shown).toEqual([
      'fit 1 · 1 epoch × 20 steps · batch 10',
      expect.stringMatching(/^epoch 1\/1 · /),
      '  test:talker (warning): batch 10 looked odd',
      expect.stringMatching(/^done: 1 of 1 epochs in /),
    ]);
    tf.dispose([data.x, data.y]);
  });
});

describe('what it reads from the device', () => {
  /** Counts reads of `event.loss` (the device scalar) by wrapping a plugin's onBatchEnd. */
  function countLossReads(plugin: Plugin) {
    const counter = { reads: 0 };
    const original = plugin.onBatchEnd as (ctx: never, e: BatchEndEvent) => unknown;
    (plugin as { onBatchEnd: unknown }).onBatchEnd = (ctx: never, e: BatchEndEvent) =>
      original(
        ctx,
        new Proxy(e, {
          get(target, key, receiver) {
            if (key === 'loss') counter.reads += 1;
            return Reflect.get(target, key, receiver);
          },
        }),
      );
    return counter;
  }

  async function dataCalls(plugins: Plugin[]): Promise<number> {
    const data = mnistTensors(20);
    const trainer = digitTrainer(plugins);
    const spy = vi.spyOn(tf.Tensor.prototype, 'data');
    await trainer.fit(data, { epochs: 2, batchSize: 10, validationData: data });
    const calls = spy.mock.calls.length;
    spy.mockRestore();
    tf.dispose([data.x, data.y]);
    return calls;
  }

  test('at most once per refreshMs: 100 ms batches and refreshMs 250 read every third batch', async () => {
    let fake = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => fake);
    const ticker = () =>
      definePlugin({
        name: 'test:ticker',
        onBatchStart: () => {
          fake += 100;
        },
      });
    const plugin = progress({ stream: captureStream(true), refreshMs: 250 });
    const counter = countLossReads(plugin);
    const withProgress = await dataCalls([ticker(), plugin]);
    const without = await dataCalls([ticker()]);
    // 20 batches per epoch, the clock 100 ms further at each: batches 3, 6, ..., 18 → 6 per epoch.
    expect(plugin.api.reads()).toBe(12);
    expect(counter.reads).toBe(12);
    // Nothing else is read back: the trainer's own reads (epoch logs, validation) are unchanged.
    expect(withProgress - without).toBe(12);
  });

  test('refreshMs 0 reads every batch; the trainer is never asked for batch logs', async () => {
    const seen: (object | undefined)[] = [];
    const probe = definePlugin({ name: 'test:probe', onBatchEnd: (_ctx, e) => void seen.push(e.logs) });
    const plugin = progress({ stream: captureStream(true), refreshMs: 0 });
    expect(plugin.needsBatchLogs).toBeUndefined();
    const data = mnistTensors(20);
    await digitTrainer([probe, plugin]).fit(data, { epochs: 1, batchSize: 10 });
    expect(plugin.api.reads()).toBe(20);
    expect(seen).toHaveLength(20);
    expect(seen.every((l) => l === undefined)).toBe(true);
    tf.dispose([data.x, data.y]);
  });

  test('silent writes nothing, reads nothing and registers no hook', async () => {
    const out = captureStream(true);
    const plugin = progress({ stream: out, silent: true });
    expect(Object.keys(plugin).filter((k) => k.startsWith('on'))).toEqual([]);
    const data = mnistTensors(10);
    await digitTrainer([plugin]).fit(data, { epochs: 1, batchSize: 10 });
    expect(out.chunks).toEqual([]);
    expect(plugin.api.reads()).toBe(0);
    tf.dispose([data.x, data.y]);
  });

  test('no tensor outlives a step: the count is unchanged across epochs while it reads every batch', async () => {
    const data = mnistTensors(10);
    const counts: number[] = [];
    const probe = definePlugin({
      name: 'test:count',
      onEpochEnd: () => void counts.push(tf.memory().numTensors),
    });
    const plugin = progress({ stream: captureStream(true), refreshMs: 0 });
    const trainer = digitTrainer([plugin, probe]);
    await trainer.fit(data, { epochs: 3, batchSize: 10 });
    await trainer.fit(data, { epochs: 1, batchSize: 10 });
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(plugin.api.reads()).toBe(10);
    tf.dispose([data.x, data.y]);
  });
});

describe('what other plugins say', () => {
  test('phase and stage events and log messages are printed; debug messages and messages: false are not', async () => {
    const out = captureStream(false);
    const announcer = definePlugin({
      name: 'test:announcer',
      async onEpochStart(ctx, e) {
        if (e.fitEpoch === 1) {
          await ctx.emit('finetune:transition', {
            phase: 1,
            name: 'unfreeze the body',
            unfrozen: ['a', 'b'],
          });
          await ctx.emit('meta:stageStart', { stage: 2, name: 'digits 5-9' });
          ctx.logger.info('unfroze 2 weights');
          ctx.logger.debug('not shown');
        }
      },
    });
    const data = mnistTensors(10);
    await digitTrainer([announcer, progress({ stream: out })]).fit(data, { epochs: 2, batchSize: 10 });
    const lines = out.text().trimEnd().split('\n');
    const at = lines.findIndex((l) => l.startsWith('epoch 1/2'));
    expect(lines.slice(at + 1, at + 4)).toEqual([
      '── phase 1: unfreeze the body (2 weights unfrozen) ──',
      '── stage 2: digits 5-9 ──',
      '  test:announcer: unfroze 2 weights',
    ]);
    expect(out.text()).not.toContain('not shown');

    const quiet = captureStream(false);
    await digitTrainer([announcer, progress({ stream: quiet, messages: false })]).fit(data, {
      epochs: 2,
      batchSize: 10,
    });
    expect(quiet.text()).not.toContain('unfroze 2 weights');
    tf.dispose([data.x, data.y]);
  });

  test('a resumed fit says where it resumed and keeps counting its epochs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tl-progress-'));
    try {
      const data = mnistTensors(10);
      await digitTrainer([checkpoint({ dir }), progress({ stream: captureStream(false) })]).fit(data, {
        epochs: 2,
        batchSize: 10,
      });
      const out = captureStream(false);
      const resumed = digitTrainer([checkpoint({ dir }), progress({ stream: out })]);
      await resumed.fit(data, { epochs: 3, batchSize: 10, resumeFrom: path.join(dir, 'last') });
      const lines = out.text().trimEnd().split('\n');
      expect(lines[0]).toBe('fit 1 · 3 epochs × 10 steps · batch 10 · resumed at epoch 3');
      expect(lines.filter((l) => /^epoch \d\/3 /.test(l)).map((l) => l.slice(0, 9))).toEqual(['epoch 3/3']);
      expect(lines.at(-1)).toMatch(/^done: 3 of 3 epochs in /);
      tf.dispose([data.x, data.y]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('evaluate() prints its logs; bad options fail at construction with TL_OPTION_INVALID', async () => {
    const out = captureStream(false);
    const data = mnistTensors(5);
    const trainer = digitTrainer([progress({ stream: out })]);
    const logs = await trainer.evaluate(data);
    expect(parseSummary(out.text().trim())).toEqual({
      loss: Number(logs.loss!.toFixed(4)),
      accuracy: Number(logs.accuracy!.toFixed(4)),
    });
    expect(() => progress({ refreshMs: -1 })).toThrow(/TL_OPTION_INVALID.*refreshMs/);
    expect(() => progress({ tty: 'yes' as never })).toThrow(/TL_OPTION_INVALID/);
    expect(() => progress({ stream: {} as never })).toThrow(/TL_OPTION_INVALID.*write/);
    tf.dispose([data.x, data.y]);
  });
});
