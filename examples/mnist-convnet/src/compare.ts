// model.fit and the tensorloop Trainer on the same data, the same initial weights, in one process,
// interleaved (the order alternates each round): accuracy and epoch time, for the README.
// Run: node dist/compare.js [rounds]   (default 3). Not a test: it measures time.
import * as tf from '@tensorflow/tfjs';
import { initBackend, Trainer } from '@tensorloop/core';
import { epochTimer, median } from './epoch-timer.js';
import { digits } from './mnist-data.js';
import { createModel, RUN } from './model.js';

const rounds = Number(process.argv[2] ?? 3);
const backend = await initBackend('auto', { quiet: true });
const ALL = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const train = digits(ALL, 0, RUN.trainPerClass);
const test = digits(ALL, 700, 700 + RUN.testPerClass);
const fitArgs = { epochs: RUN.epochs, batchSize: RUN.batchSize, validationSplit: RUN.validationSplit };

type Variant = 'model.fit' | 'tensorloop';
const results: Record<Variant, { epochMs: number[]; accuracy: number[] }> = {
  'model.fit': { epochMs: [], accuracy: [] },
  tensorloop: { epochMs: [], accuracy: [] },
};

async function run(variant: Variant, seed: number): Promise<void> {
  const model = createModel(seed);
  const timer = epochTimer();
  let accuracy: number;
  if (variant === 'model.fit') {
    await model.fit(train.x, train.y, { ...fitArgs, verbose: 0, callbacks: timer });
    const [, acc] = model.evaluate(test.x, test.y) as tf.Scalar[];
    accuracy = (await acc!.data())[0]!;
  } else {
    const trainer = new Trainer({ model, log: 'silent' });
    await trainer.fit(train, { ...fitArgs, callbacks: timer });
    accuracy = (await trainer.evaluate(test)).accuracy!;
  }
  // The first epoch includes kernel warm-up: epoch time is the median of the others.
  console.error(
    `  ${variant} seed ${seed}: epochs ${timer.ms.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s; accuracy ${accuracy.toFixed(3)}; ${tf.memory().numTensors} tensors`,
  );
  results[variant].epochMs.push(...timer.ms.slice(1));
  results[variant].accuracy.push(accuracy);
  model.optimizer.dispose();
  model.dispose();
}

for (let r = 0; r < rounds; r++) {
  const order: Variant[] = r % 2 === 0 ? ['model.fit', 'tensorloop'] : ['tensorloop', 'model.fit'];
  for (const variant of order) await run(variant, r + 1);
}

const fmt = (v: number[]) => `${(median(v) / 1000).toFixed(2)} s`;
const acc = (v: number[]) =>
  `${((v.reduce((s, x) => s + x, 0) / v.length) * 100).toFixed(1)}% (${v.map((x) => (x * 100).toFixed(1)).join(', ')})`;
console.log(
  `${backend.backend}, ${rounds} rounds × ${RUN.epochs} epochs, ${RUN.trainPerClass * 10} digits (15% validate), test on ${RUN.testPerClass * 10}`,
);
console.log('| | test accuracy (mean; each round) | epoch time (median, epochs 2+) |');
console.log('|---|---|---|');
for (const v of ['model.fit', 'tensorloop'] as const)
  console.log(`| \`${v}\` | ${acc(results[v].accuracy)} | ${fmt(results[v].epochMs)} |`);
console.log(
  `tensorloop / model.fit epoch time: ${(median(results.tensorloop.epochMs) / median(results['model.fit'].epochMs)).toFixed(2)}`,
);
