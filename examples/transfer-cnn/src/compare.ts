// model.fit and the tensorloop Trainer on the same data, the same initial weights, in one process,
// interleaved (the order alternates each round): both stages of the transfer example, accuracy and
// epoch time, for the README. Run: node dist/compare.js [rounds]   (default 3). Not a test.
import type * as tf from '@tensorflow/tfjs';
import { initBackend, Trainer } from '@tensorloop/core';
import { epochTimer, median } from './epoch-timer.js';
import { type Digits, digits } from './mnist-data.js';
import { BASE, compile, createModel, freezeFeatures, NEW, RUN } from './model.js';

const rounds = Number(process.argv[2] ?? 3);
const backend = await initBackend('auto', { quiet: true });
const base = { train: digits(BASE, 0, RUN.basePerClass), test: digits(BASE, 700, 700 + RUN.testPerClass) };
const transfer = {
  train: digits(NEW, 0, RUN.transferPerClass),
  test: digits(NEW, 700, 700 + RUN.testPerClass),
};

type Variant = 'model.fit' | 'tensorloop';
interface Figures {
  baseMs: number[];
  transferMs: number[];
  baseAcc: number[];
  transferAcc: number[];
}
const results: Record<Variant, Figures> = {
  'model.fit': { baseMs: [], transferMs: [], baseAcc: [], transferAcc: [] },
  tensorloop: { baseMs: [], transferMs: [], baseAcc: [], transferAcc: [] },
};

async function stage(variant: Variant, model: tf.LayersModel, data: Digits, test: Digits, epochs: number) {
  const timer = epochTimer();
  const args = { epochs, batchSize: RUN.batchSize, validationSplit: RUN.validationSplit };
  let accuracy: number;
  if (variant === 'model.fit') {
    await model.fit(data.x, data.y, { ...args, verbose: 0, callbacks: timer });
    const [, acc] = model.evaluate(test.x, test.y) as tf.Scalar[];
    accuracy = (await acc!.data())[0]!;
  } else {
    const trainer = new Trainer({ model, log: 'silent' });
    await trainer.fit(data, { ...args, callbacks: timer });
    accuracy = (await trainer.evaluate(test)).accuracy!;
  }
  return { ms: timer.ms.slice(1), accuracy }; // epoch 1 warms kernels up
}

async function run(variant: Variant, seed: number): Promise<void> {
  const model = createModel(seed);
  const first = await stage(variant, model, base.train, base.test, RUN.baseEpochs);
  model.optimizer.dispose();
  freezeFeatures(model);
  compile(model);
  const second = await stage(variant, model, transfer.train, transfer.test, RUN.transferEpochs);
  const r = results[variant];
  r.baseMs.push(...first.ms);
  r.transferMs.push(...second.ms);
  r.baseAcc.push(first.accuracy);
  r.transferAcc.push(second.accuracy);
  model.optimizer.dispose();
  model.dispose();
}

for (let r = 0; r < rounds; r++) {
  const order: Variant[] = r % 2 === 0 ? ['model.fit', 'tensorloop'] : ['tensorloop', 'model.fit'];
  for (const variant of order) await run(variant, r + 1);
}

const sec = (v: number[]) => `${(median(v) / 1000).toFixed(2)} s`;
const acc = (v: number[]) => `${((v.reduce((s, x) => s + x, 0) / v.length) * 100).toFixed(1)}%`;
console.log(
  `${backend.backend}, ${rounds} rounds; base ${RUN.baseEpochs} epochs on ${RUN.basePerClass * 5} digits 0–4, transfer ${RUN.transferEpochs} epochs on ${RUN.transferPerClass * 5} digits 5–9 (15% validate); test ${RUN.testPerClass * 5} each`,
);
console.log(
  '| | base test accuracy (0–4) | transfer test accuracy (5–9) | base epoch (median, epochs 2+) | transfer epoch (median, epochs 2+) |',
);
console.log('|---|---|---|---|---|');
for (const v of ['model.fit', 'tensorloop'] as const) {
  const r = results[v];
  console.log(
    `| \`${v}\` | ${acc(r.baseAcc)} | ${acc(r.transferAcc)} | ${sec(r.baseMs)} | ${sec(r.transferMs)} |`,
  );
}
const ratio = (k: 'baseMs' | 'transferMs') =>
  (median(results.tensorloop[k]) / median(results['model.fit'][k])).toFixed(2);
console.log(`tensorloop / model.fit epoch time: base ${ratio('baseMs')}, transfer ${ratio('transferMs')}`);
