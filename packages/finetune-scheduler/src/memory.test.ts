import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '@tensorloop/backend-wasm';
import { definePlugin, sgd, Trainer } from '@tensorloop/core';
import { afterAll, describe, expect, test } from 'vitest';
import { finetuneScheduler } from './finetune-scheduler.js';
import { generateSchedule } from './implicit.js';
import { script } from './test-helpers.js';

afterAll(async () => {
  await tf.setBackend('cpu');
});

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
        name: 'out',
        units: 3,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
}

describe.each(['cpu', 'wasm'])('memory on %s', (backend) => {
  test('numTensors is unchanged across epochs with transitions, best-weight snapshots and an lr schedule', async () => {
    if (backend === 'wasm') await initWasmBackend();
    else await tf.setBackend('cpu');
    expect(tf.getBackend()).toBe(backend);
    const data = tf.tidy(() => ({
      x: tf.randomNormal([24, 6, 6, 1], 0, 1, 'float32', 3) as tf.Tensor4D,
      y: tf
        .oneHot(
          tf.tensor1d([0, 1, 2, 1, 0, 2, 2, 1, 0, 1, 0, 2, 1, 1, 0, 2, 0, 1, 2, 2, 1, 0, 0, 1], 'int32'),
          3,
        )
        .toFloat(),
    }));
    const counts: number[] = [];
    const counter = definePlugin({
      name: 'test:count',
      enforce: 'post',
      onEpochEnd: () => void counts.push(tf.memory().numTensors),
    });
    const model = convnet();
    const phases = Object.values(generateSchedule(model)) as { params: string[] }[];
    const trainer = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      // SGD without momentum has no slots, so a thawed phase adds no optimizer tensors
      optimizer: sgd({ lr: 0.05 }),
      plugins: [
        script({ val_loss: [1, 0.9, 0.95, 0.8, 0.85, 0.9, 0.95, 1] }),
        finetuneScheduler({
          schedule: phases.map((p, i) =>
            i === 1 ? { ...p, newLrSchedule: { fn: (q: number) => 1 - q / 2, every: 'step' } } : p,
          ),
          earlyStopping: { patience: 1 },
          frozenBatchNorm: 'track',
          logDir: false,
        }),
        counter,
      ],
      log: 'silent',
    });
    await trainer.fit(data, { epochs: 8, batchSize: 8 });
    // transitions at epochs 3 and 5 (the last of the 3 phases), one snapshot held throughout
    expect(trainer.paramGroups.map((g) => g.name)).toEqual(['phase1', 'phase2', 'default']);
    expect(new Set(counts.slice(1)).size).toBe(1);
    tf.dispose([data.x, data.y]);
  });
});
