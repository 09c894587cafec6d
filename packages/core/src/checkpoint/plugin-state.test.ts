import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isTensorloopError } from '../errors.js';
import { definePlugin, type LogEntry, type Plugin } from '../plugin.js';
import { readState } from '../plugin-state.js';
import { classificationData, maxAbsDiff, tinyClassifier, weightsOf } from '../test-helpers.js';
import { Trainer } from '../trainer.js';
import { readCheckpointJson } from './atomic-dir.js';
import { CHECKPOINT_PLUGIN, checkpoint } from './checkpoint-plugin.js';
import type { TrainerCheckpointJson } from './trainer-checkpoint.js';

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'tl-plugin-state-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const base = (
  plugins: Plugin[],
  model: tf.LayersModel = tinyClassifier(),
  log: (e: LogEntry) => void = () => {},
) => new Trainer({ model, loss: 'categoricalCrossentropy', optimizer: tf.train.sgd(0.1), plugins, log });

describe('parseState: saved state is untrusted', () => {
  const counter = (seen: unknown[] = []) => {
    let count = 0;
    return definePlugin({
      name: 'counter',
      version: '2.0.0',
      onEpochEnd: () => {
        count += 1;
      },
      state: () => ({ count }),
      parseState(saved, version) {
        seen.push({ saved, version });
        return { count: readState(saved, 'counter').integer('count', { min: 0 }) };
      },
      loadState(state) {
        count = (state as { count: number }).count;
      },
      api: { count: () => count },
    });
  };

  test('core calls parseState (with the saved version) before loadState, which gets its result', async () => {
    const dir = join(root, 'counter');
    const t = base([counter()]);
    await t.fit(classificationData(20), { epochs: 3, batchSize: 10 });
    await t.save(dir);
    const seen: unknown[] = [];
    const again = counter(seen);
    await base([again], t.model).fit(classificationData(20), { epochs: 1, batchSize: 10, resumeFrom: dir });
    expect(seen).toEqual([{ saved: { count: 3 }, version: '2.0.0' }]);
    expect((again.api as { count(): number }).count()).toBe(4);
  });

  test('a bad state is TL_CHECKPOINT_INVALID naming the plugin and the field, before anything changes', async () => {
    const dir = join(root, 'counter-bad');
    const t = base([counter()]);
    await t.fit(classificationData(20), { epochs: 1, batchSize: 10 });
    await t.save(dir);
    const strict = definePlugin({
      name: 'counter',
      parseState: (saved) => readState(saved, 'counter').string('count'),
      loadState: () => {},
    });
    const model = tinyClassifier({ seed: 9 });
    const before = weightsOf(model);
    const other = base([strict], model);
    const error = await other
      .fit(classificationData(20), { epochs: 1, resumeFrom: dir })
      .catch((e: unknown) => e);
    expect(isTensorloopError(error, 'TL_CHECKPOINT_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(
      /\[counter\] the checkpoint's state .*state\.count must be a string; got 1\./,
    );
    expect(maxAbsDiff(weightsOf(model), before)).toBe(0); // the weights were not touched
    expect(other.time.epoch).toBe(0);
  });

  test('an error that is not a TensorloopError is wrapped as TL_CHECKPOINT_INVALID with the plugin', async () => {
    const dir = join(root, 'counter-throws');
    const t = base([counter()]);
    await t.fit(classificationData(20), { epochs: 1, batchSize: 10 });
    await t.save(dir);
    const picky = definePlugin({
      name: 'counter',
      parseState: () => {
        throw new RangeError('too old');
      },
      loadState: () => {},
    });
    const error = (await base([picky])
      .fit(classificationData(20), { epochs: 1, resumeFrom: dir })
      .catch((e) => e)) as {
      code: string;
      plugin: string;
      message: string;
    };
    expect([error.code, error.plugin]).toEqual(['TL_CHECKPOINT_INVALID', 'counter']);
    expect(error.message).toContain('too old');
  });
});

describe('readState', () => {
  test('reads each kind of field and names the path of a bad one', () => {
    const s = readState(
      { n: 1.5, i: 2, s: 'x', b: true, m: 'max', r: { a: 1 }, list: [{ k: 1 }], nums: [1, 2], z: null },
      'p',
    );
    expect([
      s.number('n'),
      s.integer('i'),
      s.string('s'),
      s.boolean('b'),
      s.oneOf('m', ['min', 'max']),
    ]).toEqual([1.5, 2, 'x', true, 'max']);
    expect(s.numberRecord('r')).toEqual({ a: 1 });
    expect(s.objects('list', (o) => o.integer('k'))).toEqual([1]);
    expect(s.numbers('nums')).toEqual([1, 2]);
    expect([s.number('z', { nullable: true }), s.object('z', () => 1, { nullable: true })]).toEqual([
      null,
      null,
    ]);
    const fails: [() => unknown, string][] = [
      [() => s.integer('n'), 'state.n must be an integer; got 1.5'],
      [() => s.integer('i', { min: 3 }), 'state.i must be an integer ≥ 3; got 2'],
      [() => s.number('z'), 'state.z must be a number; got null'],
      [() => s.oneOf('s', ['a', 'b']), 'state.s must be one of "a", "b"; got "x"'],
      [() => s.objects('list', (o) => o.string('k')), 'state.list[0].k must be a string; got 1'],
      [() => s.numbers('list'), 'state.list must be an array of numbers'],
      [() => s.string('missing'), 'state.missing must be a string; got nothing'],
      [() => readState([1], 'p'), 'state must be an object; got [1]'],
    ];
    for (const [read, message] of fails) {
      expect(read).toThrow(message);
      try {
        read();
      } catch (e) {
        expect(isTensorloopError(e, 'TL_CHECKPOINT_INVALID')).toBe(true);
        expect((e as { plugin?: string }).plugin).toBe('p');
      }
    }
  });
});

describe('plugin state with tensors (stateTensors)', () => {
  /** Keeps a running average of the weights (an EMA) as plugin state: 101,770 parameters. */
  const ema = () => {
    let average = new Map<string, tf.Tensor>();
    const update = (model: tf.LayersModel) => {
      for (const w of model.weights) {
        const old = average.get(w.originalName);
        average.set(
          w.originalName,
          tf.tidy(() => (old ? tf.add(tf.mul(old, 0.5), tf.mul(w.read(), 0.5)) : tf.clone(w.read()))),
        );
        old?.dispose();
      }
    };
    return definePlugin({
      name: 'ema',
      onEpochEnd: (ctx) => update(ctx.model),
      state: () => ({ names: [...average.keys()] }),
      stateTensors: () => Object.fromEntries(average),
      loadState(_state, _version, tensors) {
        for (const t of average.values()) t.dispose();
        average = new Map(Object.entries(tensors).map(([k, t]) => [k, tf.clone(t)]));
      },
      api: {
        values: () => new Map([...average].map(([k, t]) => [k, t.dataSync() as Float32Array])),
        dispose: () => {
          for (const t of average.values()) t.dispose();
          average.clear();
        },
      },
    });
  };
  type EmaApi = { values(): Map<string, Float32Array>; dispose(): void };
  const bigModel = () =>
    tf.sequential({
      layers: [
        tf.layers.dense({
          name: 'hidden',
          units: 128,
          inputShape: [784],
          activation: 'relu',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        }),
        tf.layers.dense({
          name: 'out',
          units: 10,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
        }),
      ],
    });

  test('tensors go to plugins.bin, not trainer.json; a resumed run gets them back exactly, with no leak', async () => {
    const dir = join(root, 'ema');
    const data = classificationData(40, 784, 10);
    const first = ema();
    const t = base([first], bigModel());
    await t.fit(data, { epochs: 2, batchSize: 20 });
    await t.save(dir);
    const json = (await readCheckpointJson(dir, 'trainer.json')) as TrainerCheckpointJson;
    expect(json.plugins.ema!.tensors).toEqual(t.model.weights.map((w) => w.originalName));
    const jsonBytes = (await stat(join(dir, 'trainer.json'))).size;
    const binBytes = (await stat(join(dir, 'plugins.bin'))).size;
    expect(binBytes).toBe(101_770 * 4);
    expect(jsonBytes).toBeLessThan(20_000); // base64 in JSON would be ~540 KB

    const second = ema();
    const resumed = base([second], bigModel());
    const before = tf.memory().numTensors;
    await resumed.fit(data, { epochs: 1, batchSize: 20, resumeFrom: dir });
    // Same average as the uninterrupted run after its third epoch.
    await t.fit(data, { epochs: 1, batchSize: 20 });
    const [a, b] = [(first.api as EmaApi).values(), (second.api as EmaApi).values()];
    expect(a.size).toBe(4);
    for (const [name, values] of a) expect(maxAbsDiff([values], [b.get(name)!])).toBe(0);
    // The tensors handed to loadState were disposed by core; the plugin keeps its 4 clones only.
    expect(tf.memory().numTensors - before).toBe(4);
    (first.api as EmaApi).dispose();
    (second.api as EmaApi).dispose();
  });

  test('snapshot() clones plugin tensors and restore() hands them back', async () => {
    const plugin = ema();
    const t = base([plugin], bigModel());
    const data = classificationData(40, 784, 10);
    await t.fit(data, { epochs: 1, batchSize: 20 });
    const saved = (plugin.api as EmaApi).values();
    const snap = await t.snapshot();
    await t.fit(data, { epochs: 2, batchSize: 20 });
    const moved = (plugin.api as EmaApi).values();
    const kernel = [...moved.keys()][0]!;
    expect(maxAbsDiff([moved.get(kernel)!], [saved.get(kernel)!])).toBeGreaterThan(1e-4);
    await t.restore(snap);
    const after = (plugin.api as EmaApi).values();
    expect(after.size).toBe(4);
    for (const [name, values] of after) expect(maxAbsDiff([values], [saved.get(name)!])).toBe(0);
    const count = tf.memory().numTensors;
    snap.dispose();
    expect(count - tf.memory().numTensors).toBe(
      Object.keys(snap.weights).length + Object.keys(snap.pluginTensors).length,
    );
    (plugin.api as EmaApi).dispose();
  });
});

describe('the checkpoint plugin is named by package convention', () => {
  test(`its name is ${CHECKPOINT_PLUGIN}; the old name "checkpoint" still finds it, with a deprecation warning`, async () => {
    const entries: LogEntry[] = [];
    let best: string | undefined;
    const reader = definePlugin({
      name: 'reader',
      enforce: 'post',
      after: ['checkpoint'],
      onEpochEnd(ctx) {
        best = ctx.plugin('checkpoint').bestPath;
        expect(ctx.hasPlugin('checkpoint')).toBe(true);
      },
    });
    const ckpt = checkpoint({ dir: join(root, 'named'), monitor: 'loss' });
    expect(ckpt.name).toBe('@tensorloop/core:checkpoint');
    const t = base([reader, ckpt], tinyClassifier(), (e) => void entries.push(e));
    expect(t.plugins.map((p) => p.name)).toEqual([CHECKPOINT_PLUGIN, 'reader']); // `after` resolved the old name
    await t.fit(classificationData(20), { epochs: 1, batchSize: 10 });
    expect(best).toBe(join(root, 'named', 'best-epoch-0000'));
    expect(
      entries.some(
        (e) =>
          e.level === 'warn' &&
          e.message.includes('"checkpoint" is deprecated: use "@tensorloop/core:checkpoint"'),
      ),
    ).toBe(true);
  });

  test('state saved under the old name is loaded into the renamed plugin', async () => {
    const dir = join(root, 'old-name');
    const old = checkpoint({ dir: join(root, 'old-runs'), monitor: 'loss', name: 'checkpoint' });
    const t = base([old]);
    await t.fit(classificationData(20), { epochs: 2, batchSize: 10 });
    await t.save(dir);
    const json = (await readCheckpointJson(dir, 'trainer.json')) as TrainerCheckpointJson;
    expect(Object.keys(json.plugins)).toEqual(['checkpoint']);
    const entries: LogEntry[] = [];
    const renamed = checkpoint({ dir: join(root, 'old-runs'), monitor: 'loss' });
    await Trainer.load(dir, { plugins: [renamed], log: (e) => void entries.push(e) });
    expect(renamed.api!.best.map((b) => b.epoch)).toEqual(old.api!.best.map((b) => b.epoch));
    expect(entries.filter((e) => e.message.includes('not registered'))).toEqual([]);
  });
});
