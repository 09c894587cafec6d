import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TensorloopError } from '../errors.js';
import { adamw } from '../optim/adam.js';
import type { AnyOptimizer } from '../optimizer-seam.js';
import { definePlugin, type Plugin } from '../plugin.js';
import { stop } from '../signals.js';
import { classificationData, maxAbsDiff, weightsOf } from '../test-helpers.js';
import { Trainer, type TrainerOptions } from '../trainer.js';
import { checkpoint } from './checkpoint-plugin.js';

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'tl-resume-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Named layers: weight names are then the same for every model built in this process. */
function namedModel(seed = 1): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'h',
        units: 8,
        inputShape: [4],
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.dense({
        name: 'o',
        units: 3,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

/** A stateful plugin: counts epochs and decides an lr by it; its decisions must survive resume. */
function decider(decisions: string[]): Plugin {
  let epochs = 0;
  return definePlugin({
    name: 'decider',
    version: '1.0.0',
    hparams: [{ name: 'lr', mode: 'multiply' }],
    onEpochEnd: (ctx, e) => {
      epochs += 1;
      ctx.hparams.set('lr', 1 / (1 + epochs));
      decisions.push(`${e.epoch}:${epochs}:${ctx.hparams.get('lr').toFixed(6)}`);
    },
    state: () => ({ epochs }),
    loadState: (s) => {
      epochs = (s as { epochs: number }).epochs;
    },
  });
}

function options(optimizer: AnyOptimizer, plugins: Plugin[], seed = 1): TrainerOptions {
  return {
    model: namedModel(seed),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer,
    plugins,
    seed: 3,
    log: 'silent',
  };
}

const data = classificationData(60);
const val = classificationData(20, 4, 3, 99);

describe.each([
  ['tf.train.adam', () => tf.train.adam(0.05)],
  [
    'core adamw with groups',
    () => adamw({ lr: 0.05, noDecay: 'bias-and-norm', groups: [{ name: 'head', match: /^o\//, lr: 0.02 }] }),
  ],
] as const)('resume (%s)', (label, makeOptimizer: () => AnyOptimizer) => {
  test('an epoch-end checkpoint resumed in a fresh trainer equals the uninterrupted run', async () => {
    const dir = join(root, `epoch-${label.replace(/\W/g, '')}`);
    const straightDecisions: string[] = [];
    const straight = new Trainer(options(makeOptimizer(), [decider(straightDecisions)]));
    straight.freeze(/^h\/bias/);
    await straight.fit(data, { epochs: 5, batchSize: 16, validationData: val });

    const firstDecisions: string[] = [];
    // Interrupted after epoch 2 (a stop right after the checkpoint plugin saved).
    const interrupt = definePlugin({
      name: 'interrupt',
      enforce: 'post',
      after: ['checkpoint'],
      onEpochEnd: (ctx) => (ctx.time.epoch === 2 ? stop('crash') : undefined),
    });
    const firstRun = new Trainer(
      options(makeOptimizer(), [decider(firstDecisions), checkpoint({ dir }), interrupt]),
    );
    firstRun.freeze(/^h\/bias/);
    await firstRun.fit(data, { epochs: 5, batchSize: 16, validationData: val });

    const resumedDecisions = firstDecisions.slice(0, 3);
    const resumed = new Trainer(
      options(makeOptimizer(), [decider(resumedDecisions), checkpoint({ dir: join(dir, 'resumed') })], 42),
    );
    const result = await resumed.fit(data, {
      epochs: 5,
      batchSize: 16,
      validationData: val,
      resumeFrom: join(dir, 'last'),
    });

    expect(maxAbsDiff(weightsOf(resumed.model), weightsOf(straight.model))).toBeLessThan(1e-6);
    expect(resumed.history.map((h) => h.logs)).toEqual(straight.history.map((h) => h.logs));
    expect(resumedDecisions).toEqual(straightDecisions);
    expect(resumed.time).toEqual(straight.time);
    expect(resumed.parameters()).toEqual(straight.parameters());
    expect(result.history.map((h) => h.epoch)).toEqual([0, 1, 2, 3, 4]);
    expect(result.stopReason).toBeUndefined();
  });

  test('a mid-epoch checkpoint (everySteps) resumes inside the epoch with the same result', async () => {
    const dir = join(root, `steps-${label.replace(/\W/g, '')}`);
    const straight = new Trainer(options(makeOptimizer(), [decider([])]));
    await straight.fit(data, { epochs: 3, batchSize: 16 });
    const interrupt = definePlugin({
      name: 'interrupt',
      enforce: 'post',
      after: ['checkpoint'],
      onBatchEnd: (ctx) => (ctx.time.step === 6 ? stop('crash') : undefined),
    });
    const firstRun = new Trainer(
      options(makeOptimizer(), [decider([]), checkpoint({ dir, everySteps: 3 }), interrupt]),
    );
    await firstRun.fit(data, { epochs: 3, batchSize: 16 });
    expect(firstRun.time.step).toBe(6); // stopped inside epoch 1 (4 batches per epoch)
    const resumed = new Trainer(options(makeOptimizer(), [decider([])], 7));
    await resumed.fit(data, { epochs: 3, batchSize: 16, resumeFrom: join(dir, 'last') });
    expect(maxAbsDiff(weightsOf(resumed.model), weightsOf(straight.model))).toBeLessThan(1e-6);
    expect(resumed.history.map((h) => h.logs.loss)).toEqual(straight.history.map((h) => h.logs.loss));
    expect(resumed.history.map((h) => h.logs.smooth_loss)).toEqual(
      straight.history.map((h) => h.logs.smooth_loss),
    );
    expect(resumed.time).toEqual(straight.time);
  });
});

describe('checkpoint safety and loading', () => {
  test('a tampered checkpoint is refused before anything changes; the previous one still loads', async () => {
    const dir = join(root, 'tamper');
    const t = new Trainer(options(tf.train.sgd(0.1), []));
    await t.fit(data, { epochs: 1, batchSize: 16 });
    await t.save(join(dir, 'good'));
    await t.save(join(dir, 'bad'));
    const file = join(dir, 'bad', 'trainer.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"epoch":1', '"epoch":7'));
    const fresh = new Trainer(options(tf.train.sgd(0.1), [], 5));
    const before = weightsOf(fresh.model);
    const e = await fresh.fit(data, { epochs: 2, resumeFrom: join(dir, 'bad') }).catch((x: unknown) => x);
    expect((e as TensorloopError).code).toBe('TL_CHECKPOINT_CORRUPT');
    expect((e as TensorloopError).message).toContain('trainer.json');
    expect(maxAbsDiff(before, weightsOf(fresh.model))).toBe(0);
    expect(fresh.time.step).toBe(0);
    // 'good' was saved between fits: resuming from it starts the next fit, time continuing.
    const ok = await fresh.fit(data, { epochs: 2, batchSize: 16, resumeFrom: join(dir, 'good') });
    expect(ok.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(fresh.history.map((h) => h.fitIndex)).toEqual([0, 1, 1]);
  });

  test('a checkpoint of another architecture or optimizer is refused with the reason', async () => {
    const dir = join(root, 'mismatch');
    const t = new Trainer(options(tf.train.adam(0.01), []));
    await t.save(dir);
    const other = tf.sequential({
      layers: [
        tf.layers.dense({ name: 'h', units: 5, inputShape: [4] }),
        tf.layers.dense({ name: 'o', units: 3 }),
      ],
    });
    const e1 = await new Trainer({
      model: other,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(0.01),
      log: 'silent',
    })
      .fit(data, { epochs: 1, resumeFrom: dir })
      .catch((x: unknown) => x);
    expect((e1 as TensorloopError).code).toBe('TL_CHECKPOINT_INVALID');
    expect((e1 as TensorloopError).message).toContain('"h/kernel"');
    const e2 = await new Trainer(options(tf.train.sgd(0.1), []))
      .fit(data, { epochs: 1, resumeFrom: dir })
      .catch((x: unknown) => x);
    expect((e2 as TensorloopError).message).toContain(
      'tfjs Adam optimizer, but this trainer uses a tfjs SGD',
    );
  });

  test('Trainer.load rebuilds model and optimizer and continues an unfinished fit', async () => {
    const dir = join(root, 'load');
    const straight = new Trainer(options(tf.train.adam(0.05), []));
    await straight.fit(data, { epochs: 7, batchSize: 16 });
    const interrupt = definePlugin({
      name: 'interrupt',
      enforce: 'post',
      after: ['checkpoint'],
      onEpochEnd: (ctx) => (ctx.time.epoch === 4 ? stop('crash') : undefined),
    });
    await new Trainer(options(tf.train.adam(0.05), [checkpoint({ dir }), interrupt])).fit(data, {
      epochs: 7,
      batchSize: 16,
    });
    const loaded = await Trainer.load(join(dir, 'last'), { log: 'silent', metrics: ['accuracy'], seed: 3 });
    expect(loaded.optimizer).toBeInstanceOf(tf.AdamOptimizer);
    expect(loaded.time.epoch).toBe(5); // 20 steps: beta2^21 by product and by pow() differ in float32
    await loaded.fit(data, { epochs: 7, batchSize: 16 });
    expect(maxAbsDiff(weightsOf(loaded.model), weightsOf(straight.model))).toBeLessThan(1e-6);
    // Adam's running beta powers are restored exactly, not recomputed with pow() (float32 drift).
    const betaPowers = (t: Trainer) =>
      ['accBeta1', 'accBeta2'].map(
        (f) => (t.optimizer as unknown as Record<string, tf.Variable>)[f]!.dataSync()[0],
      );
    expect(betaPowers(loaded)).toEqual(betaPowers(straight));
    // The saved model is also plain tfjs: our file:// handler loads it without tensorloop.
    const plain = await tf.loadLayersModel(`file://${join(dir, 'last', 'model', 'model.json')}`);
    expect(plain.layers.map((l) => l.name)).toEqual(['h', 'bn', 'o']);
  });

  test('Trainer.load rebuilds a core optimizer with its param groups and continues exactly', async () => {
    const dir = join(root, 'load-core');
    const make = () =>
      adamw({ lr: 0.05, noDecay: 'bias-and-norm', groups: [{ name: 'head', match: /^o\//, lr: 0.01 }] });
    const straight = new Trainer(options(make(), []));
    await straight.fit(data, { epochs: 4, batchSize: 16 });
    const interrupt = definePlugin({
      name: 'interrupt',
      enforce: 'post',
      after: ['checkpoint'],
      onEpochEnd: (ctx) => (ctx.time.epoch === 1 ? stop('crash') : undefined),
    });
    await new Trainer(options(make(), [checkpoint({ dir }), interrupt])).fit(data, {
      epochs: 4,
      batchSize: 16,
    });
    const loaded = await Trainer.load(join(dir, 'last'), { log: 'silent', metrics: ['accuracy'], seed: 3 });
    expect((loaded.optimizer as { type?: string }).type).toBe('adamw');
    expect(loaded.paramGroups.map((g) => [g.name, g.hparams.lr, [...g.variables].sort()])).toEqual(
      straight.paramGroups.map((g) => [g.name, g.hparams.lr, [...g.variables].sort()]),
    );
    await loaded.fit(data, { epochs: 4, batchSize: 16 });
    expect(maxAbsDiff(weightsOf(loaded.model), weightsOf(straight.model))).toBeLessThan(1e-6);
    expect(loaded.history.map((h) => h.logs.loss)).toEqual(straight.history.map((h) => h.logs.loss));
  });

  test('checkpoint(): keeps the best k by a monitored key, mode auto, and exposes bestPath', async () => {
    const dir = join(root, 'best');
    const scores = [0.5, 0.3, 0.4, 0.2, 0.25];
    const script = definePlugin({
      name: 'script',
      logKeys: ['val_score'],
      onEpochEnd: (_c, e) => {
        e.logs.val_score = scores[e.epoch]!;
      },
    });
    let seenBest: string | undefined;
    const reader = definePlugin({
      name: 'reader',
      enforce: 'post',
      after: ['checkpoint'],
      onFitEnd: (ctx) => {
        seenBest = ctx.plugin('checkpoint').bestPath;
      },
    });
    const t = new Trainer(
      options(tf.train.sgd(0.1), [
        script,
        checkpoint({ dir, monitor: 'val_score', mode: 'min', keepBest: 2 }),
        reader,
      ]),
    );
    await t.fit(data, { epochs: 5, batchSize: 32 });
    expect(seenBest).toBe(join(dir, 'best-epoch-0003'));
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(dir)).filter((n) => !n.startsWith('.')).sort()).toEqual([
      'best-epoch-0003',
      'best-epoch-0004',
      'last',
    ]);
  });

  test('an unknown monitor key fails with the available keys', async () => {
    const t = new Trainer(
      options(tf.train.sgd(0.1), [
        checkpoint({ dir: join(root, 'unknown'), monitor: 'val_los', mode: 'min' }),
      ]),
    );
    const e = await t.fit(data, { epochs: 1, batchSize: 32, validationData: val }).catch((x: unknown) => x);
    expect((e as TensorloopError).code).toBe('TL_MONITOR_UNKNOWN');
    expect((e as TensorloopError).message).toContain('val_loss');
  });

  test('a stop recorded in the checkpoint ends the resumed fit at once, with the same reason', async () => {
    const dir = join(root, 'stopped');
    const stopper = definePlugin({
      name: 'stopper',
      onEpochEnd: (ctx) => (ctx.time.epoch === 1 ? stop('plateau') : undefined),
    });
    await new Trainer(options(tf.train.sgd(0.1), [stopper, checkpoint({ dir })])).fit(data, {
      epochs: 5,
      batchSize: 32,
    });
    const saved = JSON.parse(await readFile(join(dir, 'last', 'trainer.json'), 'utf8'));
    expect(saved.fit?.epochsDone).toBe(2);
    expect(saved.stopReason?.by).toBe('stopper');
    const resumed = new Trainer(options(tf.train.sgd(0.1), [stopper]));
    const r = await resumed.fit(data, { epochs: 5, batchSize: 32, resumeFrom: join(dir, 'last') });
    expect(r.stopReason).toMatchObject({ by: 'stopper', message: 'plateau' });
    expect(r.history.map((h) => h.epoch)).toEqual([0, 1]);
    expect(resumed.time.epoch).toBe(2);
  });

  test('save and resume leak no tensors', async () => {
    const dir = join(root, 'leak');
    const t = new Trainer(options(tf.train.adam(0.01), []));
    await t.fit(data, { epochs: 1, batchSize: 16 });
    await t.save(dir);
    const before = tf.memory().numTensors;
    await t.save(dir);
    await t.fit(data, { epochs: 1, batchSize: 16, resumeFrom: dir });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('in-memory snapshot', () => {
  test('restore() returns weights, optimizer state, time and plugin state to the snapshot', async () => {
    let counter = 0;
    const counting = definePlugin({
      name: 'counting',
      onEpochEnd: () => {
        counter += 1;
      },
      state: () => ({ counter }),
      loadState: (s) => {
        counter = (s as { counter: number }).counter;
      },
    });
    const t = new Trainer(options(adamw({ lr: 0.05 }), [counting]));
    await t.fit(data, { epochs: 1, batchSize: 16 });
    const snap = await t.snapshot();
    const tensors = tf.memory().numTensors;
    const weights = weightsOf(t.model);
    const time = { ...t.time };
    await t.fit(data, { epochs: 2, batchSize: 16 });
    expect(counter).toBe(3);
    await t.restore(snap);
    expect(maxAbsDiff(weights, weightsOf(t.model))).toBe(0);
    expect(t.time).toEqual(time);
    expect(counter).toBe(1);
    expect(t.history).toHaveLength(1);
    // Training again from the snapshot gives what training from there gave the first time.
    await t.fit(data, { epochs: 2, batchSize: 16 });
    const again = weightsOf(t.model);
    await t.restore(snap);
    await t.fit(data, { epochs: 2, batchSize: 16 });
    expect(maxAbsDiff(again, weightsOf(t.model))).toBe(0);
    snap.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(tensors);
  });
});
