// Runs in Chromium (bench/src/browser-yield.mjs): Trainer.fit with yield 'never', 'auto' (a
// MessageChannel macrotask at most every 16 ms) and { everyMs: 0 } (a macrotask after every batch),
// interleaved, on the same initial weights and data.
import * as tf from '@tensorflow/tfjs';
import { Trainer } from '@tensorloop/core';

function model(seed) {
  const init = (s) => tf.initializers.glorotUniform({ seed: s });
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'h',
        inputShape: [784],
        units: 64,
        activation: 'relu',
        kernelInitializer: init(seed),
      }),
      tf.layers.dense({ name: 'o', units: 10, activation: 'softmax', kernelInitializer: init(seed + 1) }),
    ],
  });
}

const VARIANTS = { never: 'never', auto: 'auto', everyBatch: { everyMs: 0 } };

async function epochMs(backend, yieldOption, data, batchSize) {
  const trainer = new Trainer({
    model: model(1),
    loss: 'categoricalCrossentropy',
    optimizer: tf.train.adam(1e-3),
    log: 'silent',
    yield: yieldOption,
  });
  let yields = 0;
  const count = () => {
    yields += 1;
  };
  // Count the timer tasks the page got to run during the fit (a setTimeout(0) chain, clamped to
  // 4 ms by the browser, so it costs little): 0 means the page was frozen for the whole fit.
  let alive = true;
  const tick = () => {
    count();
    if (alive) setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  const t0 = performance.now();
  await trainer.fit(data, { epochs: 1, batchSize, shuffle: false });
  const ms = performance.now() - t0;
  alive = false;
  trainer.model.dispose();
  return { ms, pageTasks: yields, backend };
}

window.runBench = async ({ backend, reps, samples, batchSize }) => {
  await tf.setBackend(backend);
  await tf.ready();
  const x = tf.randomNormal([samples, 784], 0, 1, 'float32', 3);
  const y = tf
    .oneHot(
      tf.tensor1d(
        Array.from({ length: samples }, (_, i) => i % 10),
        'int32',
      ),
      10,
    )
    .toFloat();
  const names = Object.keys(VARIANTS);
  await epochMs(backend, 'never', { x, y }, batchSize); // warm-up (shader compilation, kernels)
  const rounds = [];
  for (let r = 0; r < reps; r++) {
    const round = {};
    // rotate the order each round
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length];
      round[name] = await epochMs(backend, VARIANTS[name], { x, y }, batchSize);
    }
    rounds.push(round);
  }
  tf.dispose([x, y]);
  return { backend: tf.getBackend(), batches: Math.ceil(samples / batchSize), rounds };
};

/** The price of one yield alone: a MessageChannel round trip (what 'auto' awaits), averaged over n. */
window.roundTripUs = async (n) => {
  const channel = new MessageChannel();
  let resolve;
  channel.port1.onmessage = () => resolve();
  const once = () =>
    new Promise((r) => {
      resolve = r;
      channel.port2.postMessage(0);
    });
  for (let i = 0; i < 100; i++) await once();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await once();
  const us = ((performance.now() - t0) / n) * 1000;
  channel.port1.close();
  return us;
};
