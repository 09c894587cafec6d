// Two losses on one classifier, blended by a scheduled weight:
//   loss = w · crossentropy + (1 − w) · Brier (mean squared error of the probabilities),
// with w going from 1 (pure crossentropy) to 0 (pure Brier) over the fit. The custom loss reads w from
// the hyperparameter store every step; schedule() writes it as a pure function of the step.
// Run: npx -y pnpm@10 --filter @tensorloop/example-loss-weight-schedule... build, then node dist/main.js
import * as tf from '@tensorflow/tfjs';
import { definePlugin, initBackend, type LossFn, Trainer } from '@tensorloop/core';
import { schedule } from '@tensorloop/lr-schedules';
import { loadMnist } from './mnist-data.js';

const check = process.argv.includes('--check');
const backend = await initBackend('auto');
const { train, test } = loadMnist(200, 100);
console.log(
  `data: ${train.x.shape[0]} training and ${test.x.shape[0]} test digits (backend ${backend.backend})`,
);

const blended: LossFn = (yTrue, yPred, { hparams }) => {
  const w = hparams.get('lossWeight.main');
  const crossentropy = tf.metrics.categoricalCrossentropy(yTrue, yPred);
  const brier = tf.metrics.meanSquaredError(yTrue, yPred);
  return tf.add(tf.mul(w, crossentropy), tf.mul(1 - w, brier));
};

// 1 at the first step, 0 at the last one: a schedule is any (p, { index, total }) => number.
const oneToZero = (_p: number, { index, total }: { index: number; total: number }) =>
  total > 1 ? 1 - index / (total - 1) : 0;

const weights: number[] = [];
const recordWeight = definePlugin({
  name: 'record-weight',
  afterOptimizerStep: (ctx) => void weights.push(ctx.hparams.get('lossWeight.main')),
  onEpochEnd(ctx, { epoch, logs }) {
    ctx.logger.info(
      `epoch ${epoch + 1}: w ${ctx.hparams.get('lossWeight.main').toFixed(3)} loss ${logs.loss?.toFixed(4)} acc ${logs.categoricalAccuracy?.toFixed(4)}`,
    );
  },
});

const trainer = new Trainer({
  model: tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  }),
  loss: blended,
  metrics: ['categoricalAccuracy'],
  optimizer: tf.train.adam(1e-3),
  hparams: { 'lossWeight.main': 1 },
  plugins: [schedule({ hparam: 'lossWeight.main', fn: oneToZero }), recordWeight],
  seed: 3,
});
console.log(
  trainer
    .describe()
    .split('\n')
    .filter((l) => l.includes('lossWeight'))
    .join('\n'),
);

await trainer.fit(train, { epochs: 4, batchSize: 64 });
const result = await trainer.evaluate(test);
const accuracy = result.categoricalAccuracy!;
console.log(
  `w: ${weights[0]} at the first step → ${weights.at(-1)} at step ${weights.length - 1}; test accuracy ${(accuracy * 100).toFixed(2)}%`,
);

if (check) {
  const monotone = weights.every((w, i) => i === 0 || w <= weights[i - 1]!);
  const problems = [
    weights[0] === 1 ? '' : `the first step's weight is ${weights[0]}, expected 1`,
    weights.at(-1) === 0 ? '' : `the last step's weight is ${weights.at(-1)}, expected 0`,
    monotone ? '' : 'the weight went up at some step',
    accuracy >= 0.85 ? '' : `test accuracy ${accuracy} is below 0.85`,
  ].filter(Boolean);
  if (problems.length) {
    console.error(`FAIL: ${problems.join('; ')}`);
    process.exit(1);
  }
  console.log('check passed');
}
