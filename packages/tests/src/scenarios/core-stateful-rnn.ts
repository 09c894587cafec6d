// Resume contract for a stateful RNN checkpointed at an epoch end: core resets its states at every
// epoch start (resetStates: 'epoch'), so the resumed run starts epoch 3 from the states the
// uninterrupted run started it from.
import * as tf from '@tensorflow/tfjs';
import { Trainer } from '@tensorloop/core';
import type { ContractScenario } from '@tensorloop/testkit';
import { mnistSplit } from './common.js';

const scenario: ContractScenario = {
  async create(extraPlugins) {
    // Each digit as a sequence of 28 rows of 28 pixels; 400 digits, batches of 20.
    const { train } = mnistSplit();
    const data = { x: train.x.reshape([400, 28, 28]), y: train.y };
    const model = tf.sequential({
      layers: [
        tf.layers.simpleRNN({
          name: 'rnn',
          units: 16,
          stateful: true,
          batchInputShape: [20, 28, 28],
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
          recurrentInitializer: tf.initializers.glorotUniform({ seed: 2 }),
        }),
        tf.layers.dense({
          name: 'out',
          units: 10,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        }),
      ],
    });
    const trainer = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(0.01),
      plugins: [...extraPlugins],
      seed: 2,
      log: 'silent',
    });
    return { trainer, data, fit: { epochs: 4, batchSize: 20, shuffle: false } };
  },
};

export default scenario;
