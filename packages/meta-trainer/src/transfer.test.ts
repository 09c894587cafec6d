// Transfer learning from Lightning #5314, on real digits: stage 0 trains the whole model on digits 0–4,
// stage 1 learns digits 5–9 with everything but the classifier frozen by a stage plugin.
import * as tf from '@tensorflow/tfjs';
import { definePlugin, Trainer } from '@tensorloop/core';
import { beforeAll, describe, expect, test } from 'vitest';
import { freezeExcept } from './freeze-except.js';
import { MetaTrainer } from './meta-trainer.js';
import { digits } from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const mlp = () =>
  tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'features',
        inputShape: [784],
        units: 64,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }),
      }),
      tf.layers.dense({
        name: 'classifier',
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }),
      }),
    ],
  });

const read = (model: tf.LayersModel, name: string) =>
  model.weights
    .find((w) => w.originalName === name)!
    .read()
    .dataSync()
    .slice();

describe('transfer learning with a stage plugin', () => {
  test('stage 1 trains only the classifier on new digits, reaches good accuracy, and unfreezes at its end', async () => {
    const first = [0, 1, 2, 3, 4];
    const second = [5, 6, 7, 8, 9];
    const train0 = digits(first, 100);
    const train1 = digits(second, 100);
    const test0 = digits(first, 30, 800);
    const test1 = digits(second, 30, 800);
    const model = mlp();
    const trainer = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: tf.train.adam(0.003),
      seed: 1,
      log: 'silent',
    });
    const trainableDuring: Record<number, string[]> = {};
    const snapshot: Record<string, tf.TypedArray> = {};
    trainer.addPlugins([
      definePlugin({
        name: 'watch',
        onEpochEnd: (ctx) => {
          trainableDuring[ctx.time.stage] = ctx
            .parameters()
            .filter((p) => p.trainable)
            .map((p) => p.name);
        },
        'meta:stageStart': (_ctx, e) => {
          if (e.stage === 1) {
            snapshot.features = read(model, 'features/kernel');
            snapshot.classifier = read(model, 'classifier/kernel');
          }
        },
      }),
    ]);
    const probe = tf.train.adam(0.03);
    const meta = new MetaTrainer(trainer, { stagePlugins: { 1: [freezeExcept(/^classifier\//)] } });
    const out = await meta.run(
      [
        { name: 'digits 0-4, whole model', data: train0, epochs: 5, batchSize: 32 },
        // A stage's own optimizer: a higher learning rate for the head alone.
        { name: 'digits 5-9, classifier only', data: train1, epochs: 6, batchSize: 32, optimizer: probe },
      ],
      { evaluate: { streams: { test: [test0, test1] } } },
    );
    expect(trainableDuring[0]).toEqual([
      'features/kernel',
      'features/bias',
      'classifier/kernel',
      'classifier/bias',
    ]);
    expect(trainableDuring[1]).toEqual(['classifier/kernel', 'classifier/bias']);
    expect(read(model, 'features/kernel')).toEqual(snapshot.features);
    expect(read(model, 'classifier/kernel')).not.toEqual(snapshot.classifier);
    expect(trainer.parameters().every((p) => p.trainable)).toBe(true);
    const m = out.results.matrices[0]!;
    // Digits 0–4 learnt in stage 0; a linear classifier on those features then learns digits 5–9.
    expect(m.accuracy[0]![0]).toBeGreaterThan(0.85);
    expect(m.accuracy[1]![1]).toBeGreaterThan(0.7);
    expect(out.results.metrics['Top1_Acc_Exp/eval_phase/test_stream/Exp001']).toBe(m.accuracy[1]![1]);
    expect(trainer.optimizer).toBe(probe);
    tf.dispose([train0, train1, test0, test1].flatMap((d) => [d.x, d.y]));
  });
});
