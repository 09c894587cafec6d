import * as tf from '@tensorflow/tfjs';
import {
  adam,
  definePlugin,
  isTensorloopError,
  type Plugin,
  sgd,
  type TensorloopOptimizer,
  Trainer,
  type TrainerOptions,
} from '@tensorloop/core';
import { cosine, schedule as lrSchedule } from '@tensorloop/lr-schedules';
import { beforeAll, describe, expect, test } from 'vitest';
import { finetuneScheduler } from './finetune-scheduler.js';
import { generateSchedule } from './implicit.js';
import type { FinetuneSchedulerOptions } from './options.js';
import type { PhaseSpec } from './schedule-types.js';
import { NAME, sameValues, script, weightValues } from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** conv (kernel, bias) → bn (gamma, beta) → dense (kernel, bias) → out: 8 weights, 4 implicit phases. */
function convnet(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        name: 'conv',
        inputShape: [6, 6, 1],
        filters: 2,
        kernelSize: 3,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({
        name: 'dense',
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

/** 32 seeded 6×6 images labelled by a fixed random linear rule: 4 steps per epoch at batch size 8. */
function images(): { x: tf.Tensor4D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const x = tf.randomNormal([32, 6, 6, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
    const w = tf.randomNormal([36, 3], 0, 1, 'float32', 8);
    const labels = tf.argMax(tf.matMul(x.reshape([32, 36]), w), 1);
    return { x, y: tf.oneHot(labels, 3).toFloat() as tf.Tensor2D };
  });
}

/** The implicit schedule of the convnet with phase k transitioning at epoch k + 1. */
function epochSchedule(model: tf.LayersModel): Record<number, PhaseSpec> {
  const phases = generateSchedule(model);
  return Object.fromEntries(
    Object.entries(phases).map(([k, p]) => [k, { ...p, maxTransitionEpoch: Number(k) + 1 }]),
  );
}

/** Every weight of the model (BatchNorm statistics too) at fit start and at every epoch end. */
function recorder(byEpoch: Map<number, Map<string, Float32Array>>): Plugin {
  return definePlugin({
    name: 'test:weights',
    enforce: 'post',
    onFitStart: (ctx) => void byEpoch.set(-1, weightValues(ctx.model)),
    onEpochEnd: (ctx, e) => void byEpoch.set(e.epoch, weightValues(ctx.model)),
  });
}

async function fit(
  options: FinetuneSchedulerOptions,
  epochs: number,
  extra: Partial<TrainerOptions> & { model?: tf.LayersModel } = {},
): Promise<{ trainer: Trainer; weights: Map<number, Map<string, Float32Array>> }> {
  const weights = new Map<number, Map<string, Float32Array>>();
  const model = extra.model ?? convnet();
  const trainer = new Trainer({
    loss: 'categoricalCrossentropy',
    optimizer: adam({ lr: 0.01 }),
    log: 'silent',
    ...extra,
    model,
    plugins: [...(extra.plugins ?? []), finetuneScheduler({ logDir: false, ...options }), recorder(weights)],
  });
  const data = images();
  try {
    await trainer.fit(data, { epochs, batchSize: 8 });
  } finally {
    tf.dispose([data.x, data.y]);
  }
  return { trainer, weights };
}

describe('thawing a real model', () => {
  test('frozen weights stay bit-identical until their phase, then move; one group per phase', async () => {
    const model = convnet();
    const schedule = epochSchedule(model);
    const { trainer, weights } = await fit(
      { schedule, epochTransitionsOnly: true, restoreBest: false, baseMaxLr: 0.01 },
      5,
      { model },
    );
    const initial = weights.get(-1)!;
    for (const [k, phase] of Object.entries(schedule)) {
      const thawedAt = Number(k); // phase k trains from epoch k on
      for (const name of phase.params) {
        for (let e = 0; e < 5; e++) {
          const now = weights.get(e)!.get(name)!;
          const before = weights.get(e - 1)!.get(name)!;
          if (e < thawedAt) expect(sameValues(now, initial.get(name)!), `${name} at epoch ${e}`).toBe(true);
          else expect(sameValues(now, before), `${name} moved in epoch ${e}`).toBe(false);
        }
      }
    }
    // BatchNorm statistics: frozen BN runs in inference mode (frozenBatchNorm: 'inference') until phase 2
    for (const e of [0, 1])
      expect(sameValues(weights.get(e)!.get('bn/moving_mean')!, initial.get('bn/moving_mean')!)).toBe(true);
    expect(sameValues(weights.get(2)!.get('bn/moving_mean')!, initial.get('bn/moving_mean')!)).toBe(false);

    expect(trainer.paramGroups.map((g) => [g.name, g.variables, g.hparams.lr])).toEqual([
      ['phase1', ['dense/kernel', 'dense/bias'], 0.01],
      ['phase2', ['bn/gamma', 'bn/beta'], 0.01],
      ['phase3', ['conv/kernel', 'conv/bias'], 0.01],
      ['default', ['out/kernel', 'out/bias'], 0.01],
    ]);
    // Adam's step count of a late weight starts when it thaws (correct bias correction)
    const opt = trainer.optimizer as TensorloopOptimizer;
    expect([opt.stepOf('out/kernel'), opt.stepOf('dense/kernel'), opt.stepOf('conv/kernel')]).toEqual([
      20, 16, 8,
    ]);
  });

  test("before training, the optimizer steps exactly phase 0's weights", async () => {
    const seen: string[][] = [];
    const probe = definePlugin({
      name: 'test:probe',
      after: [NAME],
      onFitStart: (ctx) =>
        void seen.push(
          ctx
            .parameters()
            .filter((p) => p.trainable)
            .map((p) => p.name),
        ),
      afterOptimizerStep: (_ctx, e) => void seen.push([...e.grads.keys()]),
    });
    const model = convnet();
    model.getLayer('out').trainable = false; // the user's own freezing is replaced by the schedule's
    await fit({ maxDepth: 0, restoreBest: false, epochTransitionsOnly: true }, 1, {
      model,
      plugins: [probe],
    });
    expect(seen).toEqual(Array(5).fill(['out/kernel', 'out/bias']));
  });

  for (const restoreBest of [true, false]) {
    test(`restoreBest ${restoreBest}: the new phase starts from the ${restoreBest ? 'best' : 'latest'} weights, BatchNorm statistics included`, async () => {
      const atTransition: Map<string, Float32Array>[] = [];
      const probe = definePlugin({
        name: 'test:at-transition',
        'finetune:transition': (ctx) => void atTransition.push(weightValues(ctx.model)),
      });
      const { weights, trainer } = await fit(
        { restoreBest, frozenBatchNorm: 'track', earlyStopping: { patience: 2 } },
        5,
        { plugins: [script({ val_loss: [1, 0.5, 0.6, 0.7, 0.8] }), probe] },
      );
      expect(atTransition).toHaveLength(1); // epochs 2 and 3 do not beat epoch 1: phase 1 starts at epoch 4
      const expected = weights.get(restoreBest ? 1 : 3)!;
      for (const [name, values] of expected)
        expect(sameValues(atTransition[0]!.get(name)!, values), name).toBe(true);
      expect(trainer.plugins.find((p) => p.name === NAME)!.api).toMatchObject({
        restores: restoreBest ? 1 : 0,
      });
    });
  }

  test("frozenBatchNorm 'track': frozen BN updates its moving statistics (FTS's default), gamma and beta stay; 'inference' keeps them", async () => {
    for (const mode of ['track', 'inference'] as const) {
      const model = convnet();
      const { weights } = await fit(
        { maxDepth: 0, restoreBest: false, epochTransitionsOnly: true, frozenBatchNorm: mode },
        2,
        { model },
      );
      const [start, end] = [weights.get(-1)!, weights.get(1)!];
      expect(sameValues(start.get('bn/moving_mean')!, end.get('bn/moving_mean')!), mode).toBe(
        mode === 'inference',
      );
      expect(sameValues(start.get('bn/moving_variance')!, end.get('bn/moving_variance')!)).toBe(
        mode === 'inference',
      );
      for (const w of ['bn/gamma', 'bn/beta', 'conv/kernel'])
        expect(sameValues(start.get(w)!, end.get(w)!)).toBe(true);
      if (mode === 'track') {
        // after the fit core's frozen-BN behaviour is back: another fit in 'inference' leaves the statistics alone
        const again = await fit({ maxDepth: 0, restoreBest: false, epochTransitionsOnly: true }, 1, {
          model,
        });
        expect(
          sameValues(
            again.weights.get(-1)!.get('bn/moving_mean')!,
            again.weights.get(0)!.get('bn/moving_mean')!,
          ),
        ).toBe(true);
      }
    }
  });
});

describe('optimizers', () => {
  const refusedWith = async (extra: Partial<TrainerOptions>, options: FinetuneSchedulerOptions = {}) => {
    const model = convnet();
    const before = weightValues(model);
    const error = await fit({ restoreBest: false, ...options }, 1, { model, ...extra }).catch(
      (e: unknown) => e,
    );
    expect(
      isTensorloopError(error, 'TL_OPTIMIZER_INVALID') || isTensorloopError(error, 'TL_SCHEDULE_INVALID'),
    ).toBe(true);
    expect(weightValues(model)).toEqual(before);
    return (error as Error).message;
  };

  test('a tfjs optimizer is refused when a phase would need its own group; maxDepth 0 works with it', async () => {
    expect(await refusedWith({ optimizer: tf.train.adam(0.01) })).toContain(
      'which tfjs optimizers cannot hold: they have one lr and key their state by position. Use a core optimizer',
    );
    const { weights } = await fit({ maxDepth: 0, restoreBest: false, epochTransitionsOnly: true }, 1, {
      optimizer: tf.train.adam(0.01),
    });
    expect(sameValues(weights.get(-1)!.get('out/kernel')!, weights.get(0)!.get('out/kernel')!)).toBe(false);
    expect(sameValues(weights.get(-1)!.get('dense/kernel')!, weights.get(0)!.get('dense/kernel')!)).toBe(
      true,
    );
  });

  test("user groups may hold phase-0 weights only; the plugin's group names are its own", async () => {
    expect(await refusedWith({ optimizer: adam({ noDecay: 'bias-and-norm' }) })).toContain(
      "the optimizer's param group 'no-decay' holds weights of later phases (conv/bias in phase 3, bn/gamma in phase 2, bn/beta in phase 2, dense/bias in phase 1)",
    );
    expect(
      await refusedWith({ optimizer: adam({ groups: [{ name: 'phase1', match: /^out\/bias$/ }] }) }),
    ).toContain("the optimizer already has a param group 'phase1'");
    const { trainer } = await fit(
      {
        maxDepth: 1,
        restoreBest: false,
        epochTransitionsOnly: true,
        schedule: { 0: { params: ['out/.*'], maxTransitionEpoch: 1 }, 1: { params: ['dense/.*'] } },
      },
      2,
      {
        optimizer: adam({ lr: 0.01, groups: [{ name: 'head-bias', match: /^out\/bias$/, lr: 0.1 }] }),
      },
    );
    expect(trainer.paramGroups.map((g) => [g.name, g.variables])).toEqual([
      ['head-bias', ['out/bias']],
      ['phase1', ['dense/kernel', 'dense/bias']],
      ['default', ['conv/kernel', 'conv/bias', 'bn/gamma', 'bn/beta', 'out/kernel']],
    ]);
  });

  const TWO_PHASES = (second: Partial<PhaseSpec>): Record<number, PhaseSpec> => ({
    0: { params: ['out/.*'], maxTransitionEpoch: 1 },
    1: { params: ['dense/.*'], lr: 0.002, ...second },
  });

  test('newOptimizer: the optimizer state restarts and every group gets its hyperparameters', async () => {
    const { trainer } = await fit(
      {
        schedule: TWO_PHASES({ newOptimizer: { type: 'adam', weightDecay: 0.1, lr: 0.005 } }),
        epochTransitionsOnly: true,
        restoreBest: false,
      },
      3,
    );
    const opt = trainer.optimizer as TensorloopOptimizer;
    // the reset at epoch 1 restarted phase 0's step counts too: 2 epochs of 4 steps since
    expect([opt.stepOf('out/kernel'), opt.stepOf('dense/kernel'), opt.stepOf('conv/kernel')]).toEqual([
      8, 8, 0,
    ]);
    expect(trainer.paramGroups.map((g) => [g.name, g.hparams.lr, g.hparams.weightDecay])).toEqual([
      ['phase1', 0.002, 0.1],
      ['default', 0.005, 0.1],
    ]);
    expect(trainer.hparams.explain('lr').text).toContain('set by @tensorloop/finetune-scheduler');
    expect(await refusedWith({}, { schedule: TWO_PHASES({ newOptimizer: { type: 'sgd' } }) })).toContain(
      "newOptimizer.type is 'sgd' but the trainer's optimizer is adam",
    );
    expect(await refusedWith({}, { schedule: TWO_PHASES({ newOptimizer: { momentum: 0.9 } }) })).toContain(
      "newOptimizer.momentum is not a hyperparameter of the trainer's adam optimizer",
    );
  });

  test('newLrSchedule: every group follows base lr × factor from the transition; later groups join it', async () => {
    const schedule: Record<number, PhaseSpec> = {
      0: { params: ['out/.*'], maxTransitionEpoch: 1 },
      1: {
        params: ['dense/.*'],
        lr: 0.01,
        maxTransitionEpoch: 3,
        newLrSchedule: { fn: (_p, { index }) => 0.5 ** index },
      },
      2: { params: ['bn/.*'], lr: 0.02, maxTransitionEpoch: 4 },
      // a @tensorloop/lr-schedules builder by name, as a YAML schedule names it
      3: {
        params: ['conv/.*'],
        lr: 0.04,
        newLrSchedule: { fn: 'exponential', args: { from: 1, gamma: 0.1 } },
      },
    };
    const { trainer } = await fit({ schedule, epochTransitionsOnly: true, restoreBest: false }, 6, {
      optimizer: sgd({ lr: 0.1 }),
    });
    const logs = trainer.history.map((h) => h.logs);
    const close = (a: number | undefined, b: number) => expect(a).toBeCloseTo(b, 12);
    close(logs[0]!.lr, 0.1);
    for (const e of [1, 2, 3]) {
      close(logs[e]!.lr, 0.1 * 0.5 ** (e - 1));
      close(logs[e]!['lr/phase1'], 0.01 * 0.5 ** (e - 1));
    }
    close(logs[3]!['lr/phase2'], 0.02 * 0.5 ** 2); // joined the running schedule at its index 2
    // phase 3's schedule starts from every group's current lr at its transition (the one epoch 3 used)
    const at4 = { default: 0.1 * 0.5 ** 2, phase1: 0.01 * 0.5 ** 2, phase2: 0.02 * 0.5 ** 2 };
    for (const e of [4, 5]) {
      const f = 0.1 ** (e - 4);
      close(logs[e]!.lr, at4.default * f);
      close(logs[e]!['lr/phase1'], at4.phase1 * f);
      close(logs[e]!['lr/phase2'], at4.phase2 * f);
      close(logs[e]!['lr/phase3'], 0.04 * f);
    }
  });

  test("newLrSchedule every step: the new group's first step already has the scheduled lr", async () => {
    const lrs: number[] = [];
    const probe = definePlugin({
      name: 'test:lr',
      afterOptimizerStep: (ctx) =>
        void lrs.push(
          (ctx.optimizer as TensorloopOptimizer).groups.find((g) => g.name === 'phase1')?.hparams.lr ??
            Number.NaN,
        ),
    });
    await fit(
      {
        schedule: TWO_PHASES({ newLrSchedule: { fn: (_p, { index }) => 1 / (index + 2), every: 'step' } }),
        epochTransitionsOnly: true,
        restoreBest: false,
      },
      2,
      { plugins: [probe] },
    );
    expect(lrs.slice(4)).toEqual([0.002 / 2, 0.002 / 3, 0.002 / 4, 0.002 / 5]);
  });

  test('a schedule that writes lr conflicts with another lr writer at construction', () => {
    expect(
      () =>
        new Trainer({
          model: convnet(),
          loss: 'categoricalCrossentropy',
          optimizer: adam(),
          plugins: [
            lrSchedule({ fn: cosine({ from: 0.01, to: 0.001 }) }),
            finetuneScheduler({ schedule: TWO_PHASES({ newLrSchedule: (p) => 1 - p }) }),
          ],
        }),
    ).toThrow(/TL_HPARAM_CONFLICT/);
  });
});
