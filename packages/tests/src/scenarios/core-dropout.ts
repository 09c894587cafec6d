// Resume contract with randomness in the step: Dropout(0.5) and GaussianNoise between dense layers,
// shuffled data, a mid-epoch checkpoint. The masks are a function of the trainer's seed and the batch
// counter (core's seeded step), so the resumed run draws what the uninterrupted one drew.
import * as tf from '@tensorflow/tfjs';
import { Trainer } from '@tensorloop/core';
import type { ContractScenario } from '@tensorloop/testkit';
import { mnistSplit } from './common.js';

const scenario: ContractScenario = {
  async create(extraPlugins) {
    const { train, val } = mnistSplit();
    const model = tf.sequential({
      layers: [
        tf.layers.dense({
          name: 'hidden',
          inputShape: [784],
          units: 32,
          activation: 'relu',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        }),
        tf.layers.dropout({ name: 'drop', rate: 0.5 }),
        tf.layers.gaussianNoise({ name: 'noise', stddev: 0.1 }),
        tf.layers.dense({
          name: 'out',
          units: 10,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
        }),
      ],
    });
    const trainer = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: tf.train.adam(0.01),
      plugins: [...extraPlugins],
      seed: 5,
      log: 'silent',
    });
    return { trainer, data: train, fit: { epochs: 3, batchSize: 32, validationData: val } };
  },
};

export default scenario;
