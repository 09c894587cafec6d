import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  definePlugin,
  isTensorloopError,
  type LogEntry,
  type Plugin,
  readCheckpointJson,
  Trainer,
  type TrainerCheckpointJson,
} from '@tensorloop/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type EarlyStoppingOptions, type EarlyStoppingState, earlyStopping } from './index.js';
import { maxDiff, mnistModel, mnistTensors, script, weightRecorder, weightValues } from './test-helpers.js';

let train: { x: tf.Tensor2D; y: tf.Tensor2D };
let root: string;
const PROBE = [3, 1, 2, 2.5, 2.7, 0.1, 0.05, 0.01];

beforeAll(async () => {
  await tf.setBackend('cpu');
  train = mnistTensors(10);
  root = await mkdtemp(join(tmpdir(), 'tl-es-resume-'));
});
afterAll(async () => {
  tf.dispose([train.x, train.y]);
  await rm(root, { recursive: true, force: true });
});

function trainer(options: EarlyStoppingOptions, extra: Plugin[] = [], entries: LogEntry[] = []) {
  return new Trainer({
    model: mnistModel(5),
    loss: 'categoricalCrossentropy',
    optimizer: tf.train.sgd(0.2),
    plugins: [
      script({ probe: PROBE }),
      earlyStopping({ monitor: 'probe', mode: 'min', patience: 3, restoreBestWeights: true, ...options }),
      ...extra,
    ],
    seed: 3,
    log: (e) => void entries.push(e),
  });
}

const saveAfter = (epoch: number, dir: string) =>
  definePlugin({
    name: 'test:save',
    enforce: 'post',
    async onEpochEnd(ctx, e) {
      if (e.epoch === epoch) await ctx.save(dir);
    },
  });

describe('save / resume round trip', () => {
  test('resumed mid-patience, it stops at the same epoch and restores the same best weights', async () => {
    const dir = join(root, 'mid-patience');
    const byEpoch = new Map<number, Map<string, Float32Array>>();
    const straight = trainer({}, [saveAfter(2, dir), weightRecorder(byEpoch)]);
    const a = await straight.fit(train, { epochs: 8, batchSize: 25 });
    expect(a.history).toHaveLength(5);
    expect(maxDiff(weightValues(straight.model), byEpoch.get(1)!)).toBe(0);

    const saved = (await readCheckpointJson(dir, 'trainer.json')) as TrainerCheckpointJson;
    const state = saved.plugins['@tensorloop/early-stopping']!.state as EarlyStoppingState;
    expect([state.best, state.bestEpoch, state.wait, state.origin]).toEqual([1, 1, 1, 0]);
    expect(state.bestWeights?.epoch).toBe(1);
    // The weights travel in the checkpoint's binary file, not base64 inside trainer.json.
    expect(state.bestWeights?.weights).toBeUndefined();
    expect(saved.plugins['@tensorloop/early-stopping']!.tensors).toEqual([
      'hidden/kernel',
      'hidden/bias',
      'out/kernel',
      'out/bias',
    ]);
    expect(saved.pluginWeights?.map((w) => w.name)).toEqual(
      ['hidden/kernel', 'hidden/bias', 'out/kernel', 'out/bias'].map(
        (n) => `@tensorloop/early-stopping::${n}`,
      ),
    );

    const resumed = trainer({});
    const before = tf.memory().numTensors;
    const b = await resumed.fit(train, { epochs: 8, batchSize: 25, resumeFrom: dir });
    expect(b.history.map((h) => h.epoch)).toEqual(a.history.map((h) => h.epoch));
    expect(b.stopReason?.message).toBe(a.stopReason?.message);
    expect(b.stopReason?.time.epoch).toBe(4);
    expect(maxDiff(weightValues(resumed.model), weightValues(straight.model))).toBe(0);
    // The best weights read from the checkpoint were disposed once restored.
    expect(tf.memory().numTensors - before).toBe(0);
  });

  test('weights over maxStateBytes stay out of the checkpoint: same stop, a warning, no restore', async () => {
    const dir = join(root, 'over-cap');
    const entries: LogEntry[] = [];
    const first = trainer({ maxStateBytes: 0 }, [saveAfter(2, dir)], entries);
    await first.fit(train, { epochs: 8, batchSize: 25 });
    expect(entries.some((e) => e.level === 'warn' && e.message.includes('larger than maxStateBytes'))).toBe(
      true,
    );
    const saved = (await readCheckpointJson(dir, 'trainer.json')) as TrainerCheckpointJson;
    const state = saved.plugins['@tensorloop/early-stopping']!.state as EarlyStoppingState;
    expect(state.bestWeights).toBeNull();
    expect(state.omittedBytes).toBe((784 * 16 + 16 + 16 * 10 + 10) * 4);

    const later: LogEntry[] = [];
    const byEpoch = new Map<number, Map<string, Float32Array>>();
    const resumed = trainer({ maxStateBytes: 0 }, [weightRecorder(byEpoch)], later);
    const b = await resumed.fit(train, { epochs: 8, batchSize: 25, resumeFrom: dir });
    expect(b.stopReason?.time.epoch).toBe(4);
    expect(later.find((e) => e.level === 'warn')?.message).toBe(
      'the checkpoint does not hold the weights of the best epoch 1 (49.7 KiB, over maxStateBytes): only a better epoch found from now on can be restored.',
    );
    expect(maxDiff(weightValues(resumed.model), byEpoch.get(4)!)).toBe(0);
  });

  test('a checkpoint of another monitor is refused', async () => {
    const dir = join(root, 'other-monitor');
    await trainer({}, [saveAfter(1, dir)]).fit(train, { epochs: 2, batchSize: 25 });
    const other = new Trainer({
      model: mnistModel(5),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.2),
      plugins: [script({ probe: PROBE }), earlyStopping({ monitor: 'probe', mode: 'max' })],
      log: 'silent',
    });
    const error = await other.fit(train, { epochs: 2, resumeFrom: dir }).catch((e: unknown) => e);
    expect(isTensorloopError(error, 'TL_CHECKPOINT_INVALID')).toBe(true);
    expect((error as Error).message).toContain('watches probe (min), this plugin watches probe (max)');
  });

  test('a malformed state is refused by parseState with TL_CHECKPOINT_INVALID naming the field', () => {
    const plugin = earlyStopping();
    const good = {
      monitor: 'val_loss',
      mode: 'min',
      best: null,
      bestEpoch: null,
      wait: 0,
      origin: null,
      stoppedEpoch: null,
      bestWeights: null,
      omittedBytes: null,
    };
    expect(plugin.parseState?.(good, undefined)).toEqual(good);
    const cases: [unknown, string][] = [
      [null, 'state must be an object'],
      [{ ...good, wait: -1 }, 'state.wait must be an integer ≥ 0'],
      [{ ...good, best: 'x' }, 'state.best must be a number or null'],
      [{ ...good, bestWeights: { epoch: 1 } }, 'state.bestWeights.bytes must be a number ≥ 0'],
    ];
    for (const [bad, field] of cases) {
      let error: unknown;
      try {
        plugin.parseState?.(bad, undefined);
      } catch (e) {
        error = e;
      }
      expect(isTensorloopError(error, 'TL_CHECKPOINT_INVALID')).toBe(true);
      expect((error as Error).message).toContain('[@tensorloop/early-stopping]');
      expect((error as Error).message).toContain(field);
    }
  });

  test('a fit after a finished one (not a resume) starts afresh even after loadState', async () => {
    const plugin = earlyStopping({ monitor: 'probe', mode: 'min', verbose: false });
    plugin.loadState?.(
      {
        monitor: 'probe',
        mode: 'min',
        best: 0.001,
        bestEpoch: 0,
        wait: 5,
        origin: 0,
        stoppedEpoch: null,
        bestWeights: null,
        omittedBytes: null,
      },
      undefined,
      {},
    );
    expect([plugin.api!.best, plugin.api!.wait]).toEqual([0.001, 5]);
    const t = new Trainer({
      model: mnistModel(5),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.2),
      plugins: [script({ probe: PROBE }), plugin],
      log: 'silent',
    });
    const r = await t.fit(train, { epochs: 3, batchSize: 50 });
    expect(r.history).toHaveLength(3);
    expect([plugin.api!.best, plugin.api!.bestEpoch]).toEqual([1, 1]);
  });
});
