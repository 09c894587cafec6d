// Runs in the browser: a Trainer on tfjs's cpu backend (headless Chromium has no GPU here).
import * as tf from '@tensorflow/tfjs';
import { definePlugin, initBackend, TensorloopError, Trainer } from '@tensorloop/core';

async function run() {
  const backend = await initBackend('cpu', { quiet: true });
  // Two separable blobs: a task any working loop learns in a few epochs.
  const n = 200;
  const labels = tf.tensor1d(
    Array.from({ length: n }, (_, i) => i % 2),
    'int32',
  );
  const x = tf.tidy(() =>
    tf.add(
      tf.randomNormal([n, 2], 0, 0.5, 'float32', 1),
      tf.mul(tf.expandDims(tf.cast(labels, 'float32'), 1), 3),
    ),
  );
  const y = tf.oneHot(labels, 2);
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [2], activation: 'relu' }),
      tf.layers.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  const epochs = [];
  const recorder = definePlugin({ name: 'recorder', onEpochEnd: (_ctx, e) => void epochs.push(e.logs.loss) });
  const trainer = new Trainer({
    model,
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: tf.train.adam(0.05),
    plugins: [recorder],
    log: 'silent',
  });
  await trainer.fit({ x, y }, { epochs: 10, batchSize: 20 });
  const logs = await trainer.evaluate({ x, y });
  // In-memory snapshots work everywhere; file-system checkpoints say clearly that they need Node.
  const snap = await trainer.snapshot();
  await trainer.fit({ x, y }, { epochs: 1, batchSize: 20 });
  await trainer.restore(snap);
  snap.dispose();
  let saveError = '';
  try {
    await trainer.save('ckpt');
  } catch (e) {
    saveError = e instanceof TensorloopError ? e.code : String(e);
  }
  return {
    backend: backend.backend,
    epochs,
    accuracy: logs.accuracy,
    timeEpoch: trainer.time.epoch,
    saveError,
    tensors: tf.memory().numTensors,
  };
}

run().then(
  (result) => {
    window.__result = result;
  },
  (error) => {
    window.__result = { error: String(error?.stack ?? error) };
  },
);
