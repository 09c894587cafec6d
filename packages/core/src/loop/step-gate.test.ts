import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { adamw } from '../optim/adam.js';
import type { TensorloopOptimizer } from '../optim/types.js';
import { isTensorloopOptimizer } from '../optimizer-seam.js';
import { definePlugin, type Plugin } from '../plugin.js';
import { classificationData, tinyClassifier } from '../test-helpers.js';
import { Trainer } from '../trainer.js';
import { resolveStepGateMode } from './step-gate.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(() => {
  vi.restoreAllMocks();
});

const data = classificationData(60); // 6 batches of 10

/** Gates the optimizer step off on the listed global micro-batches (a host decision, put on the device). */
function skipAt(batches: readonly number[], seen?: { applied: number[] }): Plugin {
  return definePlugin({
    name: 'skip-at',
    transformStepGate: (ctx, gate) =>
      tf.logicalAnd(gate, tf.scalar(!batches.includes(ctx.time.batch), 'bool')),
    afterOptimizerStep: (ctx) => void seen?.applied.push(ctx.time.batch),
  });
}

/** Host copies of every weight and optimizer slot, by name. */
async function stateOf(trainer: Trainer): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const w of trainer.trainableWeights) out.set(w.name, w.variable.dataSync().slice() as Float32Array);
  const opt = trainer.optimizer;
  if (isTensorloopOptimizer(opt)) {
    const { slots } = (opt as TensorloopOptimizer).getState();
    for (const [k, t] of Object.entries(slots)) out.set(`slot:${k}`, t.dataSync().slice() as Float32Array);
    tf.dispose(Object.values(slots));
  } else {
    // tfjs names slots after the uniquified variable name (`dense_Dense3/kernel/m`): key them by weight name.
    const byVariable = new Map(trainer.trainableWeights.map((w) => [w.variable.name, w.name]));
    for (const { name, tensor } of await opt.getWeights()) {
      if (name === 'iter') {
        tensor.dispose();
        continue;
      }
      const cut = name.lastIndexOf('/');
      const key = `${byVariable.get(name.slice(0, cut)) ?? name.slice(0, cut)}${name.slice(cut)}`;
      out.set(`slot:${key}`, tensor.dataSync().slice() as Float32Array);
    }
  }
  return out;
}

/** True when both states hold the same bits, a slot missing on one side counting as all zeros. */
function sameBits(a: Map<string, Float32Array>, b: Map<string, Float32Array>): boolean {
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key);
    const y = b.get(key);
    const n = (x ?? y)!.length;
    for (let i = 0; i < n; i++) {
      if (!Object.is(x?.[i] ?? 0, y?.[i] ?? 0)) return false;
    }
  }
  return true;
}

/** Records, per batch, whether the weights and slots kept their bits, and the event's `stepped`. */
function watcher(trainer: () => Trainer) {
  const rows: { batch: number; unchanged: boolean; stepped: boolean; step: number }[] = [];
  let before: Map<string, Float32Array> | undefined;
  const plugin = definePlugin({
    name: 'watcher',
    onBatchStart: async () => {
      before = await stateOf(trainer());
    },
    onBatchEnd: async (ctx, e) => {
      const after = await stateOf(trainer());
      rows.push({
        batch: ctx.time.batch - 1,
        unchanged: sameBits(before!, after),
        stepped: e.stepped,
        step: ctx.time.step,
      });
    },
  });
  return { plugin, rows };
}

const optimizers = {
  'tf.train.adam': () => tf.train.adam(0.01),
  'core adamw': () => adamw({ lr: 0.01 }),
} as const;

describe.each(['host', 'device'] as const)('a gated step with stepGate: %s', (stepGate) => {
  for (const [label, makeOptimizer] of Object.entries(optimizers)) {
    test(`${label}: a skipped step leaves weights and slots bit-identical and is not counted`, async () => {
      const applied = { applied: [] as number[] };
      let t: Trainer | undefined;
      const watch = watcher(() => t!);
      t = new Trainer({
        model: tinyClassifier(),
        loss: 'categoricalCrossentropy',
        optimizer: makeOptimizer(),
        // The first step (slot creation) and one in the middle are skipped.
        plugins: [skipAt([0, 3], applied), watch.plugin],
        stepGate,
        log: 'silent',
      });
      const result = await t.fit(data, { epochs: 1, batchSize: 10, shuffle: false });
      expect(watch.rows.map((r) => r.unchanged)).toEqual([true, false, false, true, false, false]);
      expect(result.time.step).toBe(4);
      expect(result.time.fitStep).toBe(4);
      if (stepGate === 'host') {
        // Known at once: the event says so, time.step never counted it, afterOptimizerStep did not run.
        expect(watch.rows.map((r) => r.stepped)).toEqual([false, true, true, false, true, true]);
        expect(watch.rows.map((r) => r.step)).toEqual([0, 1, 2, 2, 3, 4]);
        expect(applied.applied).toEqual([1, 2, 4, 5]);
      } else {
        // No read-back per step: counted until the epoch-end read-back corrects it.
        expect(watch.rows.map((r) => r.stepped)).toEqual([true, true, true, true, true, true]);
        expect(watch.rows.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
        expect(applied.applied).toEqual([0, 1, 2, 3, 4, 5]);
      }
      const opt = t.optimizer;
      if (isTensorloopOptimizer(opt)) {
        for (const w of t.trainableWeights) expect((opt as TensorloopOptimizer).stepOf(w.name)).toBe(4);
      } else {
        expect(opt.iterations).toBe(4);
      }
    });
  }

  test('a window of accumulated micro-batches is skipped whole, and the next window starts afresh', async () => {
    let t: Trainer | undefined;
    const watch = watcher(() => t!);
    t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(0.01),
      plugins: [skipAt([1]), watch.plugin], // the step of window [0, 1]
      accumulateBatches: 2,
      stepGate,
      log: 'silent',
    });
    const result = await t.fit(data, { epochs: 1, batchSize: 10, shuffle: false });
    expect(watch.rows.map((r) => r.unchanged)).toEqual([true, true, true, false, true, false]);
    expect(result.time.step).toBe(2);
  });
});

describe('host and device gating agree', () => {
  test('with a tfjs optimizer, the weights after skipped steps are bit-identical either way', async () => {
    const run = async (stepGate: 'host' | 'device') => {
      const t = new Trainer({
        model: tinyClassifier(),
        loss: 'categoricalCrossentropy',
        optimizer: tf.train.adam(0.01),
        plugins: [skipAt([0, 2, 3, 9])],
        stepGate,
        log: 'silent',
      });
      await t.fit(data, { epochs: 2, batchSize: 10, shuffle: true });
      return stateOf(t);
    };
    // Layer names differ between the two models (dense_Dense1 vs dense_Dense3): compare in order.
    const positional = (m: Map<string, Float32Array>) =>
      new Map([...m.values()].map((v, i) => [String(i), v]));
    const host = await run('host');
    const device = await run('device');
    expect(host.size).toBe(device.size);
    expect(sameBits(positional(host), positional(device))).toBe(true);
  });

  test("'auto' reads on the synchronous backends and gates on the device elsewhere", () => {
    expect(['cpu', 'wasm', 'tensorflow'].map((b) => resolveStepGateMode('auto', b))).toEqual([
      'host',
      'host',
      'host',
    ]);
    expect(['webgl', 'webgpu'].map((b) => resolveStepGateMode('auto', b))).toEqual(['device', 'device']);
    expect(resolveStepGateMode('device', 'cpu')).toBe('device');
  });
});

describe('read-backs', () => {
  /** Counts every host read of a tensor during one fit of 1 epoch (6 steps). */
  async function readsOf(plugins: Plugin[], stepGate: 'host' | 'device'): Promise<number> {
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(0.01),
      plugins,
      stepGate,
      log: 'silent',
    });
    await t.fit(data, { epochs: 1, batchSize: 10, checkData: false }); // warm-up
    const data1 = vi.spyOn(tf.Tensor.prototype, 'data');
    const sync = vi.spyOn(tf.Tensor.prototype, 'dataSync');
    const array = vi.spyOn(tf.Tensor.prototype, 'array');
    const arraySync = vi.spyOn(tf.Tensor.prototype, 'arraySync');
    await t.fit(data, { epochs: 1, batchSize: 10, checkData: false });
    const reads = [data1, sync, array, arraySync].reduce((n, s) => n + s.mock.calls.length, 0);
    vi.restoreAllMocks();
    return reads;
  }

  test('a device gate adds none; a host gate adds one scalar per optimizer step', async () => {
    const base = await readsOf([], 'device');
    expect(base).toBe(1); // the epoch logs
    expect(await readsOf([skipAt([2])], 'device')).toBe(base);
    expect(await readsOf([skipAt([2])], 'host')).toBe(base + 6);
  });

  test('a plugin readback rides on the epoch-end read-back and arrives before onEpochEnd', async () => {
    const events: string[] = [];
    let counter: tf.Variable | undefined;
    const reader = definePlugin({
      name: 'reader',
      readback: {
        tensors: () => ({ seen: counter! as tf.Scalar, twice: tf.mul(counter!, 2) as tf.Scalar }),
        received: (v) => void events.push(`received ${v.seen} ${v.twice}`),
      },
      onFitStart: () => {
        counter ??= tf.variable(tf.scalar(0));
      },
      afterOptimizerStep: () => void counter!.assign(tf.add(counter!, 1)),
      onEpochEnd: (ctx) => void events.push(`epochEnd step ${ctx.time.step}`),
    });
    const reads = await readsOf([reader], 'device');
    expect(reads).toBe(1);
    expect(events).toEqual(['received 6 12', 'epochEnd step 6', 'received 12 24', 'epochEnd step 12']);
    counter?.dispose();
  });

  test('with device gating a mid-epoch checkpoint settles the pending steps first', async () => {
    const steps: number[] = [];
    let t: Trainer | undefined;
    const saver = definePlugin({
      name: 'saver',
      onBatchEnd: async (ctx) => {
        if (ctx.time.batch !== 4) return;
        const snap = await t!.snapshot();
        steps.push(snap.json.time.step, ctx.time.step);
        snap.dispose();
      },
    });
    t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(0.01),
      plugins: [skipAt([1, 2]), saver],
      stepGate: 'device',
      log: 'silent',
    });
    await t.fit(data, { epochs: 1, batchSize: 10 });
    expect(steps).toEqual([2, 2]); // 4 batches, 2 skipped: known once the snapshot read them
  });
});

describe('a bad gate', () => {
  test('a gate that is not a bool scalar fails with TL_PLUGIN_INVALID naming the plugin and what is expected', async () => {
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [definePlugin({ name: 'bad', transformStepGate: () => tf.scalar(1) })],
      log: 'silent',
    });
    await expect(t.fit(data, { epochs: 1, batchSize: 10 })).rejects.toMatchObject({
      code: 'TL_PLUGIN_INVALID',
      plugin: 'bad',
      message: expect.stringContaining('must synchronously return the gate (a bool scalar tensor'),
    });
  });

  test('stepGate must be auto, host or device', () => {
    expect(
      () =>
        new Trainer({
          model: tinyClassifier(),
          loss: 'mse',
          optimizer: tf.train.sgd(0.1),
          stepGate: 'sometimes' as never,
        }),
    ).toThrow(/stepGate must be 'auto', 'host' or 'device'/);
  });
});

describe('memory', () => {
  test.each([
    'host',
    'device',
  ] as const)('no tensor outlives its epoch with a gate (%s)', async (stepGate) => {
    const counts: number[] = [];
    const t = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: adamw({ lr: 0.01 }),
      plugins: [
        skipAt([0, 4, 7]),
        definePlugin({ name: 'probe', onEpochEnd: () => void counts.push(tf.memory().numTensors) }),
      ],
      accumulateBatches: 2,
      stepGate,
      log: 'silent',
    });
    await t.fit(data, { epochs: 4, batchSize: 10 });
    expect(counts[1]).toBe(counts[3]);
  });
});
