import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import type { TensorloopError } from './errors.js';
import { adam } from './optim/adam.js';
import type { TensorloopOptimizer } from './optim/types.js';
import type { AnyOptimizer } from './optimizer-seam.js';
import { mnistSubset } from './test-helpers.js';
import { Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A real MNIST classifier with BatchNorm; layer names set so weight names are stable. */
function mnistModel(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'hidden',
        inputShape: [784],
        units: 32,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.dense({
        name: 'out',
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
}

function snapshot(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}

function changed(a: Map<string, Float32Array>, b: Map<string, Float32Array>): string[] {
  return [...a.keys()].filter((k) => a.get(k)!.some((v, i) => v !== b.get(k)![i])).sort();
}

const FROZEN = [
  'bn/beta',
  'bn/gamma',
  'bn/moving_mean',
  'bn/moving_variance',
  'hidden/bias',
  'hidden/kernel',
];

describe.each([
  ['core adam', () => adam({ lr: 0.01 })],
  ['tf.train.adam', () => tf.train.adam(0.01)],
] as const)('freeze → train → unfreeze → train on MNIST (%s)', (_label, makeOptimizer: () => AnyOptimizer) => {
  test('frozen weights and BatchNorm statistics are bit-identical while frozen; training resumes after unfreeze', async () => {
    const data = await mnistSubset(30);
    const model = mnistModel();
    const optimizer = makeOptimizer();
    const trainer = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer,
      log: 'silent',
    });
    await trainer.fit(data, { epochs: 1, batchSize: 32 });
    const stateBefore = 'kind' in optimizer ? (optimizer as TensorloopOptimizer).getState() : undefined;
    const tensorsAfterWarmup = tf.memory().numTensors;

    expect(trainer.freeze(/^(hidden|bn)\//).sort()).toEqual([
      'bn/beta',
      'bn/gamma',
      'hidden/bias',
      'hidden/kernel',
    ]);
    expect(
      trainer
        .parameters()
        .filter((p) => !p.trainable)
        .map((p) => p.name)
        .sort(),
    ).toEqual(['bn/beta', 'bn/gamma', 'hidden/bias', 'hidden/kernel']);
    const before = snapshot(model);
    const { history } = await trainer.fit(data, { epochs: 2, batchSize: 32 });
    const whileFrozen = snapshot(model);
    expect(changed(before, whileFrozen)).toEqual(['out/bias', 'out/kernel']); // BN statistics did not move
    expect(history[1]!.logs.loss).toBeLessThan(history[0]!.logs.loss!);
    expect(tf.memory().numTensors).toBe(tensorsAfterWarmup);

    if (stateBefore) {
      // The frozen weights' optimizer state (moments, step counts) was kept untouched.
      const during = (optimizer as TensorloopOptimizer).getState();
      expect(during.meta.steps['hidden/kernel']).toBe(stateBefore.meta.steps['hidden/kernel']);
      expect(during.meta.steps['out/kernel']).toBe(stateBefore.meta.steps['out/kernel']! + 2 * 10);
      expect(Array.from(during.slots['hidden/kernel/exp_avg']!.dataSync())).toEqual(
        Array.from(stateBefore.slots['hidden/kernel/exp_avg']!.dataSync()),
      );
      tf.dispose(Object.values(during.slots));
    }

    expect(trainer.unfreeze(/^(hidden|bn)\//).sort()).toEqual([
      'bn/beta',
      'bn/gamma',
      'hidden/bias',
      'hidden/kernel',
    ]);
    await trainer.fit(data, { epochs: 1, batchSize: 32 });
    expect(changed(whileFrozen, snapshot(model))).toEqual(FROZEN.concat(['out/bias', 'out/kernel']).sort());
    expect(tf.memory().numTensors).toBe(tensorsAfterWarmup);
    if (stateBefore) tf.dispose(Object.values(stateBefore.slots));
    const acc = (await trainer.evaluate(data)).accuracy!;
    expect(acc).toBeGreaterThan(0.5);
  });
});

describe('freezing API', () => {
  test('a pattern matching nothing is an error that lists weight names', () => {
    const trainer = new Trainer({
      model: mnistModel(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      log: 'silent',
    });
    let error: unknown;
    try {
      trainer.freeze(/^encoder\//);
    } catch (e) {
      error = e;
    }
    expect((error as TensorloopError).code).toBe('TL_OPTION_INVALID');
    expect((error as TensorloopError).message).toContain('hidden/kernel');
  });

  test('layers frozen before the trainer was built can still be unfrozen (the weight list is fixed)', async () => {
    const model = mnistModel();
    model.getLayer('hidden').trainable = false;
    const trainer = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      log: 'silent',
    });
    expect(trainer.parameters().map((p) => [p.name, p.trainable])).toEqual([
      ['hidden/kernel', false],
      ['hidden/bias', false],
      ['bn/gamma', true],
      ['bn/beta', true],
      ['out/kernel', true],
      ['out/bias', true],
    ]);
    const data = await mnistSubset(5);
    const before = snapshot(model);
    await trainer.fit(data, { epochs: 1, batchSize: 25 });
    expect(changed(before, snapshot(model))).not.toContain('hidden/kernel');
    trainer.unfreeze('hidden/kernel');
    const mid = snapshot(model);
    await trainer.fit(data, { epochs: 1, batchSize: 25 });
    expect(changed(mid, snapshot(model))).toContain('hidden/kernel');
    expect(changed(mid, snapshot(model))).not.toContain('hidden/bias');
  });
});
