import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { adam, definePlugin, isTensorloopError, type Plugin, Trainer } from '@tensorloop/core';
import { beforeAll, describe, expect, test } from 'vitest';
import { type FinetuneSchedulerApi, finetuneScheduler } from './finetune-scheduler.js';
import type { FinetuneSchedulerOptions } from './options.js';
import type { PhaseSpec } from './schedule-types.js';
import { parseState } from './state.js';
import { NAME, script, tempDir, weightValues } from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function mlp(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'a',
        inputShape: [5],
        units: 6,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.dense({
        name: 'b',
        units: 6,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
      tf.layers.dense({
        name: 'out',
        units: 3,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
    ],
  });
}

const data = () =>
  tf.tidy(() => {
    const x = tf.randomNormal([24, 5], 0, 1, 'float32', 4);
    const labels = tf.argMax(tf.matMul(x, tf.randomNormal([5, 3], 0, 1, 'float32', 5)), 1);
    return { x: x as tf.Tensor2D, y: tf.oneHot(labels, 3).toFloat() as tf.Tensor2D };
  });

/** out → b → bn → a; phase 0 ends at epoch 1, the others by early stopping (patience 1). */
const SCHEDULE: Record<number, PhaseSpec> = {
  0: { params: ['out/.*'], maxTransitionEpoch: 1 },
  1: { params: ['b/.*'], lr: 0.005 },
  2: { params: ['bn/.*'], lr: 0.002 },
  3: { params: ['a/.*'] },
};
// depth per epoch: 0, 1, 1, 1, 2, 2, 3, 3 (stop at 7); phase 2 complete after epoch 5
const VAL = [1.0, 0.9, 0.8, 0.85, 0.7, 0.75, 0.6, 0.65];
const EPOCHS = 9;

interface View {
  depth: number;
  groups: [string, readonly string[], number][];
  trainable: string[];
  phaseComplete: boolean;
}

const view = (trainer: Trainer): View => {
  const api = trainer.plugins.find((p) => p.name === NAME)!.api as {
    currDepth: number;
    phaseComplete: boolean;
  };
  return {
    depth: api.currDepth,
    groups: trainer.paramGroups.map((g) => [g.name, [...g.variables], g.hparams.lr!]),
    trainable: trainer
      .parameters()
      .filter((p) => p.trainable)
      .map((p) => p.name),
    phaseComplete: api.phaseComplete,
  };
};

function makeTrainer(plugins: Plugin[], options: FinetuneSchedulerOptions = {}): Trainer {
  return new Trainer({
    model: mlp(),
    loss: 'categoricalCrossentropy',
    optimizer: adam({ lr: 0.01 }),
    plugins: [
      script({ val_loss: VAL }),
      finetuneScheduler({ schedule: SCHEDULE, logDir: false, earlyStopping: { patience: 1 }, ...options }),
      ...plugins,
    ],
    log: 'silent',
  });
}

/** Saves `<dir>/epoch-<e>` after every epoch and records the trainer's view there. */
function saver(dir: string, views: Map<number, View>, trainer: () => Trainer): Plugin {
  return definePlugin({
    name: 'test:saver',
    enforce: 'post',
    async onEpochEnd(ctx, e) {
      views.set(e.epoch, view(trainer()));
      await ctx.save(join(dir, `epoch-${e.epoch}`));
    },
  });
}

describe('resume at every depth', () => {
  test('a checkpoint at depth d resumes at depth d: one group per phase, the same frozen set and lrs, the same run', async () => {
    const dir = tempDir();
    const views = new Map<number, View>();
    let straight: Trainer | undefined;
    straight = makeTrainer([saver(dir, views, () => straight!)]);
    const d = data();
    const result = await straight.fit(d, { epochs: EPOCHS, batchSize: 8 });
    expect(result.stopReason?.time.epoch).toBe(7);
    expect([...views.values()].map((v) => v.depth)).toEqual([0, 1, 1, 1, 2, 2, 3, 3]);
    const final = weightValues(straight.model);

    for (const epoch of [0, 2, 4, 5, 6]) {
      const atResume: View[] = [];
      const probe = definePlugin({
        name: 'test:at-resume',
        after: [NAME],
        onFitStart: () => void atResume.push(view(resumed)),
      });
      const resumed: Trainer = makeTrainer([probe]);
      // a fresh model: every layer trainable, as a new process builds it (Lightning #21901)
      expect(resumed.parameters().every((p) => p.trainable)).toBe(true);
      await resumed.fit(d, { epochs: EPOCHS, batchSize: 8, resumeFrom: join(dir, `epoch-${epoch}`) });
      const expected = views.get(epoch)!;
      expect(atResume[0], `resumed from epoch ${epoch}`).toEqual(expected);
      expect(atResume[0]!.groups.filter(([name]) => name.startsWith('phase'))).toHaveLength(expected.depth);
      const after = weightValues(resumed.model);
      for (const [name, values] of final) {
        const got = after.get(name)!;
        let diff = 0;
        values.forEach((v, i) => {
          diff = Math.max(diff, Math.abs(v - got[i]!));
        });
        expect(diff, `${name} after resuming from epoch ${epoch}`).toBeLessThanOrEqual(1e-6);
      }
      expect(resumed.history.map((h) => h.logs)).toEqual(straight.history.map((h) => h.logs));
      const transitions = (t: Trainer) =>
        (t.plugins.find((p) => p.name === NAME)!.api as FinetuneSchedulerApi).transitions;
      expect(transitions(resumed)).toEqual(transitions(straight));
      expect(transitions(resumed)).toHaveLength(3);
    }
    tf.dispose([d.x, d.y]);
  });

  test('resuming twice adds no duplicate groups (FTS #30); Trainer.load rebuilds the phase groups', async () => {
    const dir = tempDir();
    const d = data();
    const saveAt = (epochs: number[]) =>
      definePlugin({
        name: 'test:save-at',
        enforce: 'post',
        async onEpochEnd(ctx, e) {
          if (epochs.includes(e.epoch)) await ctx.save(join(dir, `epoch-${e.epoch}`));
        },
      });
    await makeTrainer([saveAt([4])]).fit(d, { epochs: 5, batchSize: 8 });
    const second = makeTrainer([saveAt([5])]);
    await second.fit(d, { epochs: 6, batchSize: 8, resumeFrom: join(dir, 'epoch-4') }).catch(() => undefined);
    const third = makeTrainer([]);
    await third.fit(d, { epochs: 7, batchSize: 8, resumeFrom: join(dir, 'epoch-5') }).catch(() => undefined);
    expect(third.paramGroups.map((g) => g.name)).toEqual(['phase1', 'phase2', 'phase3', 'default']);

    const loaded = await Trainer.load(join(dir, 'epoch-5'), {
      model: mlp(),
      plugins: [
        script({ val_loss: VAL }),
        finetuneScheduler({ schedule: SCHEDULE, logDir: false, earlyStopping: { patience: 1 } }),
      ],
      log: 'silent',
    });
    expect(loaded.paramGroups.map((g) => [g.name, g.hparams.lr])).toEqual([
      ['phase1', 0.005],
      ['phase2', 0.002],
      ['default', 0.01],
    ]);
    tf.dispose([d.x, d.y]);
  });

  test('an epoch-transitions-only checkpoint loads without early stopping state (FTS #29)', async () => {
    const dir = tempDir();
    const d = data();
    const eto = {
      ...SCHEDULE,
      1: { ...SCHEDULE[1]!, maxTransitionEpoch: 2 },
      2: { ...SCHEDULE[2]!, maxTransitionEpoch: 3 },
    };
    const options = { schedule: eto, epochTransitionsOnly: true, restoreBest: false };
    const plain = (plugins: Plugin[]) =>
      new Trainer({
        model: mlp(),
        loss: 'categoricalCrossentropy',
        optimizer: adam({ lr: 0.01 }),
        plugins: [finetuneScheduler({ logDir: false, ...options }), ...plugins],
        log: 'silent',
      });
    const straight = plain([]);
    await straight.fit(d, { epochs: 5, batchSize: 8 });
    await plain([
      definePlugin({
        name: 'test:save',
        enforce: 'post',
        onEpochEnd: async (ctx, e) => void (e.epoch === 1 && (await ctx.save(join(dir, 'e1')))),
      }),
    ]).fit(d, { epochs: 5, batchSize: 8 });
    const resumed = plain([]);
    await resumed.fit(d, { epochs: 5, batchSize: 8, resumeFrom: join(dir, 'e1') });
    expect(view(resumed)).toEqual(view(straight));
    expect(weightValues(resumed.model)).toEqual(weightValues(straight.model));
    tf.dispose([d.x, d.y]);
  });

  test('a schedule that changed below the checkpoint depth, or a smaller maxDepth, is refused', async () => {
    const dir = tempDir();
    const d = data();
    await makeTrainer([
      definePlugin({
        name: 'test:save',
        enforce: 'post',
        onEpochEnd: async (ctx, e) => void (e.epoch === 4 && (await ctx.save(dir))),
      }),
    ]).fit(d, { epochs: 5, batchSize: 8 });
    const changed = { ...SCHEDULE, 1: { params: ['b/kernel'] }, 3: { params: ['a/.*', 'b/bias'] } };
    const refuse = async (options: FinetuneSchedulerOptions, expected: string) => {
      const error = await makeTrainer([], options)
        .fit(d, { epochs: 6, batchSize: 8, resumeFrom: dir })
        .catch((e: unknown) => e);
      expect(isTensorloopError(error, 'TL_CHECKPOINT_INVALID'), String(error)).toBe(true);
      expect((error as Error).message).toContain(expected);
    };
    await refuse(
      { schedule: changed },
      'phase 1 thawed 2 weights when the checkpoint was taken (b/kernel, b/bias) but the schedule now gives it 1 others',
    );
    await refuse({ maxDepth: 1 }, 'the checkpoint was taken at depth 2, past this run');
    await refuse(
      { earlyStopping: { monitor: 'val_acc', mode: 'max' } },
      "the checkpoint's scheduler watches val_loss (min)",
    );
    // later phases may change
    const later = { ...SCHEDULE, 3: { params: ['a/kernel'] } };
    await makeTrainer([], { schedule: later }).fit(d, { epochs: 6, batchSize: 8, resumeFrom: dir });
    tf.dispose([d.x, d.y]);
  });

  test('a checkpoint saved before any fit (an implicit schedule not resolved yet) resumes', async () => {
    const dir = tempDir();
    const d = data();
    const implicit = () => makeTrainer([], { schedule: undefined as never });
    await implicit().save(dir);
    const resumed = implicit();
    await resumed.fit(d, { epochs: 1, batchSize: 8, resumeFrom: dir });
    expect(view(resumed)).toMatchObject({ depth: 0, trainable: ['out/kernel', 'out/bias'] });
    tf.dispose([d.x, d.y]);
  });

  test('parseState refuses a malformed state, naming the field', () => {
    const good = {
      format: 1,
      depth: 1,
      maxDepth: 3,
      monitor: 'val_loss',
      mode: 'min',
      phaseComplete: false,
      wait: 0,
      best: 0.5,
      bestEpoch: 2,
      bestWeightsEpoch: 2,
      restores: 1,
      transitions: [{ depth: 1, epoch: 1, reason: 'maxTransitionEpoch', restoredBestEpoch: null }],
      lrSchedule: null,
      phases: [['out/kernel'], ['b/kernel']],
    };
    expect(parseState(good)).toEqual(good);
    expect(() => parseState({ ...good, wait: -1 })).toThrow('state.wait must be an integer ≥ 0; got -1');
    expect(() => parseState({ ...good, phases: [['out/kernel']] })).toThrow(
      'state.phases must be an array of 2 weight lists',
    );
    expect(() =>
      parseState({
        ...good,
        transitions: [{ depth: 1, epoch: 1, reason: 'bored', restoredBestEpoch: null }],
      }),
    ).toThrow('state.transitions[0].reason');
    expect(() => parseState({ ...good, maxDepth: 0 })).toThrow(
      'state.maxDepth must be -1 or an integer ≥ depth (1)',
    );
    expect(parseState({ ...good, depth: 0, maxDepth: -1, phases: [[]] }).maxDepth).toBe(-1);
  });
});
