// Uses the third-party plugin on real MNIST digits and checks what it promises.
// Run: node dist/main.js [--check]
import * as tf from '@tensorflow/tfjs';
import { definePlugin, initBackend, Trainer } from '@tensorloop/core';
import { mnistTensors } from '@tensorloop/test-fixtures';
import { gradNormGuard } from './grad-norm-guard.js';

const check = process.argv.includes('--check');
await initBackend('auto', { quiet: true });
const train = mnistTensors(100);

const model = tf.sequential({
  layers: [
    tf.layers.dense({ inputShape: [784], units: 64, activation: 'relu' }),
    tf.layers.dense({ units: 10, activation: 'softmax' }),
  ],
});

// Another plugin listening to the custom event, typed by the augmentation.
const spikes: number[] = [];
const listener = definePlugin({
  name: 'spike-listener',
  'gradGuard:spike': (_ctx, { norm, step }) => void spikes.push(step, norm),
});

// From epoch 3 the loss is weighted 1000× (a user value in the hyperparameter store): gradients
// spike, while Adam's steps stay bounded, so training itself goes on.
const scaleLoss = definePlugin({
  name: 'scale-loss',
  hparams: [{ name: 'lossWeight', mode: 'set' }],
  onEpochStart: (ctx, { epoch }) => ctx.hparams.set('lossWeight', epoch >= 3 ? 1000 : 1),
  transformLoss: (ctx, loss) => tf.mul(loss, ctx.hparams.get('lossWeight')) as tf.Scalar,
});

const trainer = new Trainer({
  model,
  loss: 'categoricalCrossentropy',
  optimizer: tf.train.adam(1e-3),
  hparams: { lossWeight: 1 },
  plugins: [scaleLoss, gradNormGuard({ spikeFactor: 5, maxSpikes: 3 }), listener],
  log: 'silent',
});
const { history, stopReason } = await trainer.fit(train, { epochs: 8, batchSize: 50 });
const norms = history.map((h) => h.logs.grad_norm?.toFixed(3));
console.log(`grad_norm per epoch: ${norms.join(', ')}`);
console.log(`spikes at steps: ${spikes.filter((_, i) => i % 2 === 0).join(', ') || 'none'}`);
console.log(`stopped: ${stopReason ? `${stopReason.by}: ${stopReason.message}` : 'no'}`);
console.log(
  trainer
    .describe()
    .split('\n')
    .filter((l) => /plugins|grad-norm|spike/.test(l))
    .join('\n'),
);

if (check) {
  const problems: string[] = [];
  if (!history.every((h) => typeof h.logs.grad_norm === 'number'))
    problems.push('grad_norm missing from epoch logs');
  if (stopReason?.by !== 'tfjs-loop-plugin-grad-norm-guard')
    problems.push(`expected the guard to stop the fit, got ${stopReason?.by}`);
  if (history.length >= 8 || history.length < 4)
    problems.push(`expected a stop after the lr exploded at epoch 3, ran ${history.length} epochs`);
  if (spikes.length / 2 < 3) problems.push(`expected ≥ 3 spike events, got ${spikes.length / 2}`);
  const guard = trainer.plugins.find((p) => p.name === 'tfjs-loop-plugin-grad-norm-guard')!;
  const saved = JSON.parse(JSON.stringify(guard.state?.()));
  if (JSON.stringify(guard.parseState?.(saved, '1.0.0')) !== JSON.stringify(saved))
    problems.push('parseState does not accept what state() returns');
  try {
    guard.parseState?.({ ...saved, steps: -1 }, '1.0.0');
    problems.push('parseState accepted steps: -1');
  } catch (error) {
    if (!String(error).includes('state.steps must be an integer ≥ 0')) problems.push(`parseState: ${error}`);
  }
  if (problems.length) {
    console.error(`FAIL:\n- ${problems.join('\n- ')}`);
    process.exit(1);
  }
  console.log('check passed');
}
