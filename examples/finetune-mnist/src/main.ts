// Fine-tuning with gradual unfreezing: pretrain a small convnet on MNIST digits 0–4, then fine-tune it
// on digits 5–9 with @tensorloop/finetune-scheduler's implicit schedule (the output layer first, then
// one more layer each time the validation loss stops improving).
// Run: node dist/main.js [--check]   (after a build; --check exits non-zero below the targets)
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { adam, definePlugin, initBackend, Trainer } from '@tensorloop/core';
import { finetuneScheduler, generateSchedule } from '@tensorloop/finetune-scheduler';
import { digits } from './mnist-data.js';

const FTS = '@tensorloop/finetune-scheduler';
const check = process.argv.includes('--check');
const started = performance.now();
const backend = await initBackend('auto', { quiet: true });

const OLD = [0, 1, 2, 3, 4];
const NEW = [5, 6, 7, 8, 9];
const pretrain = { train: digits(OLD, 0, 300), val: digits(OLD, 800, 900) };
const finetune = { train: digits(NEW, 0, 200), val: digits(NEW, 700, 800), test: digits(NEW, 800, 950) };

const init = (seed: number) => tf.initializers.glorotUniform({ seed });
const model = tf.sequential({
  layers: [
    tf.layers.conv2d({
      name: 'conv1',
      inputShape: [28, 28, 1],
      filters: 8,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: init(1),
    }),
    tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
    tf.layers.conv2d({
      name: 'conv2',
      filters: 16,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: init(2),
    }),
    tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
    tf.layers.flatten({ name: 'flat' }),
    tf.layers.dense({ name: 'dense', units: 32, activation: 'relu', kernelInitializer: init(3) }),
    tf.layers.dense({ name: 'out', units: 10, activation: 'softmax', kernelInitializer: init(4) }),
  ],
});
console.log(`backend ${backend.backend}; implicit schedule:`);
for (const [depth, phase] of Object.entries(generateSchedule(model)))
  console.log(`  phase ${depth}: ${phase.params.join(', ')}`);

// 1. Pretrain on digits 0–4, every layer trainable.
const pretrainer = new Trainer({
  model,
  loss: 'categoricalCrossentropy',
  metrics: ['accuracy'],
  optimizer: adam({ lr: 2e-3 }),
  seed: 1,
  log: 'silent',
});
await pretrainer.fit(pretrain.train, { epochs: 3, batchSize: 32, validationData: pretrain.val });
const before = await pretrainer.evaluate(finetune.test);
console.log(
  `pretrained on 0–4: val accuracy ${pct((await pretrainer.evaluate(pretrain.val)).accuracy)} on 0–4, ${pct(before.accuracy)} on 5–9`,
);

// 2. Fine-tune on digits 5–9 with the implicit schedule, from a fresh output layer (a new head for the
//    new task), phase 0 training it alone on the pretrained features.
const head = model.getLayer('out');
head.setWeights(tf.tidy(() => [init(5).apply([32, 10]) as tf.Tensor, tf.zeros([10])]));
let deepest = 0;
const printDepth = definePlugin({
  name: 'print-depth',
  before: [FTS], // its line comes before the scheduler's decision about this epoch
  onEpochEnd(ctx, { epoch, logs }) {
    const fts = ctx.plugin(FTS);
    deepest = Math.max(deepest, fts.currDepth);
    const trainable = ctx.parameters().filter((p) => p.trainable).length;
    console.log(
      `epoch ${epoch}: depth ${fts.currDepth} (${trainable} of 8 weights trainable) loss ${logs.loss?.toFixed(4)} val_loss ${logs.val_loss?.toFixed(4)} val_acc ${pct(logs.val_accuracy)}`,
    );
  },
});
const finetuner = new Trainer({
  model,
  loss: 'categoricalCrossentropy',
  metrics: ['accuracy'],
  optimizer: adam({ lr: 1e-2 }), // phase 0 (the output layer) trains with this optimizer
  plugins: [
    finetuneScheduler({
      baseMaxLr: 1e-3, // the lr of each group a later phase adds
      earlyStopping: { patience: 2, minDelta: 0.005 },
      logDir: join(import.meta.dirname, '..', '.tmp'), // the resolved schedule: sequential_1_ft_schedule.yaml
    }),
    printDepth,
  ],
  seed: 2,
  log: (entry) => {
    if (entry.level === 'warn' || (entry.source === FTS && entry.level === 'info'))
      console.log(`  [${entry.source}] ${entry.message}`);
  },
});
const { stopReason, time } = await finetuner.fit(finetune.train, {
  epochs: 30,
  batchSize: 32,
  validationData: finetune.val,
});
const after = await finetuner.evaluate(finetune.test);
const seconds = (performance.now() - started) / 1000;
console.log(
  `fine-tuned ${time.epoch} epochs${stopReason ? ` (${stopReason.message})` : ''}; final test accuracy on 5–9: ${pct(after.accuracy)} (was ${pct(before.accuracy)}); deepest phase ${deepest}; ${seconds.toFixed(1)} s`,
);

if (check && !(after.accuracy! >= 0.9 && deepest >= 2)) {
  console.error(
    `FAIL: expected test accuracy ≥ 90% and depth ≥ 2; got ${pct(after.accuracy)} and depth ${deepest}`,
  );
  process.exit(1);
}

function pct(v: number | undefined): string {
  return v === undefined ? '-' : `${(v * 100).toFixed(1)}%`;
}
