// A child process for crash.test.ts, run on the built package (dist/): trains with the three
// loggers and a checkpoint every 2 epochs. Modes: `straight` (uninterrupted), `first` (killed with
// SIGKILL in the middle of epoch 3, after the checkpoint of epoch 1: nothing flushed, nothing
// closed), `resume` (a fresh process resuming from that checkpoint).
import * as tf from '@tensorflow/tfjs';
import { checkpoint, definePlugin, Trainer } from '@tensorloop/core';
import { classificationData } from '@tensorloop/test-fixtures';
import { csvLogger, jsonLines, tensorBoard } from '../dist/index.js';

const [mode, dir, ckpt] = process.argv.slice(2);
await tf.setBackend('cpu');
const train = classificationData(48, 4, 3, 7);
const val = classificationData(24, 4, 3, 70);
const killer = definePlugin({
  name: 'test:kill',
  enforce: 'post',
  after: ['checkpoint'],
  onBatchEnd(ctx) {
    if (mode === 'first' && ctx.time.step === 21) process.kill(process.pid, 'SIGKILL');
  },
});
const model = tf.sequential({
  layers: [
    tf.layers.dense({
      name: 'hidden',
      inputShape: [4],
      units: 8,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
    tf.layers.dense({
      name: 'out',
      units: 3,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
    }),
  ],
});
const trainer = new Trainer({
  model,
  loss: 'categoricalCrossentropy',
  metrics: ['accuracy'],
  optimizer: tf.train.sgd(0.1),
  plugins: [
    csvLogger({ path: `${dir}/training.csv` }),
    jsonLines({ path: `${dir}/training.jsonl`, timestamps: false }),
    tensorBoard({ logDir: `${dir}/tb`, updateFreq: 2, histograms: true }),
    checkpoint({ dir: ckpt, everyEpochs: 2 }),
    killer,
  ],
  seed: 5,
  log: 'silent',
});
await trainer.fit(train, {
  epochs: 5,
  batchSize: 8,
  validationData: val,
  ...(mode === 'resume' ? { resumeFrom: `${ckpt}/last` } : {}),
});
