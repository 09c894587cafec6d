// Quickstart: a dense network on real MNIST digits, trained with @tensorloop/core.
// Run (from this folder, after a build): node dist/main.js   (the README's demo is examples/demo)
import * as tf from '@tensorflow/tfjs';
import { initBackend, Trainer } from '@tensorloop/core';
import { loadMnist } from './mnist-data.js';

const check = process.argv.includes('--check');
const backend = await initBackend('auto');
const { train, test } = loadMnist(0.8);
console.log(
  `data: ${train.x.shape[0]} training and ${test.x.shape[0]} test digits (backend ${backend.backend})`,
);

const model = tf.sequential({
  layers: [
    tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu' }),
    tf.layers.dense({ units: 10, activation: 'softmax' }),
  ],
});

const trainer = new Trainer({
  model,
  loss: 'categoricalCrossentropy',
  metrics: ['accuracy'],
  optimizer: tf.train.adam(1e-3),
  seed: 42, // the trainer prints one line per epoch (log: 'silent' or verbose: 0 to turn it off)
});

const started = performance.now();
const { stopReason, time } = await trainer.fit(train, { epochs: 5, batchSize: 64, validationData: test });
const seconds = (performance.now() - started) / 1000;
const result = await trainer.evaluate(test);
console.log(
  `trained ${time.step} steps in ${seconds.toFixed(1)} s${stopReason ? ` (stopped: ${stopReason.message})` : ''}; test accuracy ${(result.accuracy! * 100).toFixed(2)}%`,
);

if (check && !(result.accuracy! >= 0.9)) {
  console.error(`FAIL: test accuracy ${result.accuracy} is below 0.90`);
  process.exit(1);
}
