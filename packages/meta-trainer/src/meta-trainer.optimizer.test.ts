// Optimizer per stage ('reuse', 'new', an optimizer object) and tensor leaks across stages.
import * as tf from '@tensorflow/tfjs';
import { adam, definePlugin, sgd, type TensorloopOptimizer } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import { beforeAll, describe, expect, test } from 'vitest';
import { MetaTrainer } from './meta-trainer.js';
import { tasks, tinyTrainer, weightsOf } from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const steps = (t: { optimizer: unknown }) => (t.optimizer as TensorloopOptimizer).stepOf('features/kernel');

describe('optimizer per stage', () => {
  test("'reuse' (default) keeps the state; 'new' restarts it in place for a core optimizer", async () => {
    const [a, b, c] = tasks();
    const opt = adam({ lr: 0.01 });
    const trainer = tinyTrainer({ optimizer: opt });
    const seen: number[] = [];
    const watch = definePlugin({ name: 'watch', 'meta:stageEnd': () => void seen.push(steps(trainer)) });
    trainer.addPlugins([watch]);
    await new MetaTrainer(trainer).run([
      { data: a!, epochs: 1, batchSize: 10 },
      { data: b!, epochs: 1, batchSize: 10 },
      { data: c!, epochs: 1, batchSize: 10, optimizer: 'new' },
    ]);
    expect(seen).toEqual([2, 4, 2]);
    expect(trainer.optimizer).toBe(opt);
  });

  test("'new' replaces a tfjs optimizer by a fresh one of its class at the base learning rate", async () => {
    const [a, b, c] = tasks();
    const user = tf.train.adam(0.02);
    const trainer = tinyTrainer({ optimizer: user });
    const used: tf.Optimizer[] = [];
    trainer.addPlugins([
      definePlugin({
        name: 'watch',
        'meta:stageEnd': (ctx) => void used.push(ctx.optimizer as tf.Optimizer),
      }),
    ]);
    const meta = new MetaTrainer(trainer);
    await meta.run([
      { data: a!, epochs: 1, batchSize: 10 },
      { data: b!, epochs: 1, batchSize: 10, optimizer: 'new' },
      { data: c!, epochs: 1, batchSize: 10, optimizer: 'new' },
    ]);
    expect(used[0]).toBe(user);
    expect(used[1]).not.toBe(user);
    expect(used[2]).not.toBe(used[1]);
    expect(used.map((o) => o.getClassName())).toEqual(['Adam', 'Adam', 'Adam']);
    expect(used.map((o) => o.getConfig().learningRate)).toEqual([0.02, 0.02, 0.02]);
    // The copy made for stage 1 was disposed when stage 2 replaced it; yours stays usable.
    expect(
      (used[1] as unknown as { accumulatedFirstMoment: { variable: tf.Variable }[] })
        .accumulatedFirstMoment[0]?.variable.isDisposed,
    ).toBe(true);
    expect(
      (user as unknown as { accumulatedFirstMoment: { variable: tf.Variable }[] }).accumulatedFirstMoment[0]
        ?.variable.isDisposed,
    ).toBe(false);
    meta.dispose();
  });

  test("a stage's own optimizer trains that stage; its lr becomes the base; 'reuse' keeps it", async () => {
    const [a, b, c] = tasks();
    const trainer = tinyTrainer({ optimizer: sgd({ lr: 0.1 }) });
    const frozenLr = sgd({ lr: 0 });
    const snapshots: Float32Array[][] = [];
    const lrs: number[] = [];
    trainer.addPlugins([
      definePlugin({
        name: 'watch',
        'meta:stageStart': () => void snapshots.push(weightsOf(trainer.model)),
        onEpochEnd: (ctx) => void lrs.push(ctx.hparams.get('lr')),
      }),
    ]);
    await new MetaTrainer(trainer).run([
      { data: a!, epochs: 1, batchSize: 10 },
      { data: b!, epochs: 1, batchSize: 10, optimizer: frozenLr },
      { data: c!, epochs: 1, batchSize: 10 },
    ]);
    snapshots.push(weightsOf(trainer.model));
    expect(lrs).toEqual([0.1, 0, 0]);
    expect(snapshots[2]).toEqual(snapshots[1]); // lr 0: stage 1 moved nothing
    expect(snapshots[1]).not.toEqual(snapshots[0]);
    expect(trainer.optimizer).toBe(frozenLr);
  });
});

describe('memory', () => {
  test('no tensor outlives its stage: fresh tfjs optimizers, stage early stopping with best weights, evaluation', async () => {
    const data = tasks(4);
    const user = tf.train.adam(0.01);
    const trainer = tinyTrainer({ optimizer: user });
    const counts: number[] = [];
    trainer.addPlugins([
      definePlugin({
        name: 'count',
        enforce: 'post',
        'meta:stageEnd': () => void counts.push(tf.memory().numTensors),
      }),
    ]);
    const meta = new MetaTrainer(trainer);
    await meta.run(
      data.map((d, i) => ({
        data: d,
        epochs: 2,
        batchSize: 10,
        validationData: d,
        optimizer: i === 0 ? 'reuse' : 'new',
        plugins: [
          earlyStopping({ monitor: 'val_loss', patience: 5, restoreBestWeights: true, verbose: false }),
        ],
      })),
      { evaluate: { streams: { test: data }, at: 'init-and-each-stage' } },
    );
    // From stage 1 on the count stays put: each fresh optimizer replaces (and disposes) the last one.
    expect(counts.slice(1)).toEqual([counts[1], counts[1], counts[1]]);
    // Stage 1 added your stage-0 optimizer's slots, which stay yours: disposing it gives them back.
    user.dispose();
    expect(tf.memory().numTensors).toBe(counts[0]);
  });
});
