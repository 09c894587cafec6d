// The scheduler as a stage plugin of @tensorloop/meta-trainer: stage 0 trains the whole model, stage 1
// fine-tunes it with gradual unfreezing (maxTransitionEpoch counts the stage's epochs), and a
// checkpoint taken inside stage 1 resumes at the same depth.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { adam, definePlugin, type Plugin, Trainer } from '@tensorloop/core';
import { MetaTrainer, type StageSpec } from '@tensorloop/meta-trainer';
import { beforeAll, describe, expect, test } from 'vitest';
import { finetuneScheduler } from './finetune-scheduler.js';
import { NAME, tempDir, weightValues } from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function mlp(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'a',
        inputShape: [5],
        units: 6,
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.dense({ name: 'b', units: 6, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.dense({ name: 'out', units: 3, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
}

const task = (seed: number) =>
  tf.tidy(() => {
    const x = tf.randomNormal([24, 5], 0, 1, 'float32', seed);
    const labels = tf.argMax(tf.matMul(x, tf.randomNormal([5, 3], 0, 1, 'float32', seed + 1)), 1);
    return { x: x as tf.Tensor2D, y: tf.oneHot(labels, 3).toFloat() as tf.Tensor2D };
  });

interface Seen {
  stage: number;
  stageEpoch: number;
  depth: number | null;
  groups: string[];
  trainable: number;
}

function build(seen: Seen[], extra: Plugin[] = []) {
  const observer = definePlugin({
    name: 'test:observer',
    after: [NAME],
    onEpochStart(ctx) {
      seen.push({
        stage: ctx.time.stage,
        stageEpoch: ctx.time.stageEpoch,
        depth: ctx.hasPlugin(NAME) ? ctx.plugin(NAME).currDepth : null,
        groups: (ctx.optimizer as unknown as { groups: { name: string }[] }).groups.map((g) => g.name),
        trainable: ctx.parameters().filter((p) => p.trainable).length,
      });
    },
  });
  const trainer = new Trainer({
    model: mlp(),
    loss: 'categoricalCrossentropy',
    optimizer: adam({ lr: 0.02 }),
    plugins: [observer, ...extra],
    seed: 3,
    log: 'silent',
  });
  const stages: StageSpec[] = [
    { name: 'pretrain', data: task(10), epochs: 2, batchSize: 8 },
    {
      name: 'finetune',
      data: task(20),
      epochs: 4,
      batchSize: 8,
      optimizer: adam({ lr: 0.01 }),
      plugins: [
        finetuneScheduler({
          schedule: {
            0: { params: ['out/.*'], maxTransitionEpoch: 1 },
            1: { params: ['b/.*'], lr: 0.005, maxTransitionEpoch: 2 },
            2: { params: ['bn/.*', 'a/.*'], lr: 0.002 },
          },
          epochTransitionsOnly: true,
          restoreBest: false,
          logDir: false,
        }),
      ],
    },
  ];
  return { trainer, meta: new MetaTrainer(trainer), stages };
}

describe('inside a meta-trainer stage', () => {
  test('maxTransitionEpoch counts the stage epochs; one group per phase; resume inside the stage', async () => {
    const seen: Seen[] = [];
    const dir = tempDir();
    const saver = definePlugin({
      name: 'test:saver',
      enforce: 'post',
      async onEpochEnd(ctx, e) {
        if (e.epoch === 3) await ctx.save(join(dir, 'ckpt'));
      },
    });
    const straight = build(seen, [saver]);
    await straight.meta.run(straight.stages);
    expect(seen).toEqual([
      { stage: 0, stageEpoch: 0, depth: null, groups: ['default'], trainable: 8 },
      { stage: 0, stageEpoch: 1, depth: null, groups: ['default'], trainable: 8 },
      { stage: 1, stageEpoch: 0, depth: 0, groups: ['default'], trainable: 2 },
      { stage: 1, stageEpoch: 1, depth: 1, groups: ['phase1', 'default'], trainable: 4 },
      { stage: 1, stageEpoch: 2, depth: 2, groups: ['phase1', 'phase2', 'default'], trainable: 8 },
      { stage: 1, stageEpoch: 3, depth: 2, groups: ['phase1', 'phase2', 'default'], trainable: 8 },
    ]);

    // The checkpoint after global epoch 3 (stage 1, depth 1), resumed by a fresh meta-trainer.
    const resumedSeen: Seen[] = [];
    const resumed = build(resumedSeen);
    await resumed.meta.run(resumed.stages, { resumeFrom: join(dir, 'ckpt') });
    expect(resumedSeen).toEqual(seen.slice(4));
    expect(weightValues(resumed.trainer.model)).toEqual(weightValues(straight.trainer.model));
    expect(resumed.trainer.history.map((h) => h.logs)).toEqual(straight.trainer.history.map((h) => h.logs));
  });
});
