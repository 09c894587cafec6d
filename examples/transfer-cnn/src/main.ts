// tfjs-examples mnist-transfer-cnn, ported from model.fit to a tensorloop Trainer (issue 22): train a
// convnet on digits 0–4, freeze its feature layers, retrain its classifier on 5–9. The example's own
// model.fit callbacks ({ onBatchEnd, onEpochEnd }, which drew its charts) run unchanged through the
// Trainer's tfjs-callbacks bridge. Run: node dist/main.js [--check]   (--check: below 90% / 85% fails)
import { initBackend, Trainer } from '@tensorloop/core';
import { digits } from './mnist-data.js';
import { BASE, compile, createModel, freezeFeatures, NEW, RUN } from './model.js';

const check = process.argv.includes('--check');
const started = performance.now();
const backend = await initBackend('auto', { quiet: true });
const base = { train: digits(BASE, 0, RUN.basePerClass), test: digits(BASE, 700, 700 + RUN.testPerClass) };
const transfer = {
  train: digits(NEW, 0, RUN.transferPerClass),
  test: digits(NEW, 700, 700 + RUN.testPerClass),
};
const fitArgs = { batchSize: RUN.batchSize, validationSplit: RUN.validationSplit };

// 1. The base stage: every layer trains on digits 0–4 (one line per epoch by default).
console.log('base stage: digits 0–4');
const model = createModel();
await new Trainer({ model }).fit(base.train, { ...fitArgs, epochs: RUN.baseEpochs });
const baseAccuracy = (await new Trainer({ model, log: 'silent' }).evaluate(base.test)).accuracy!;

// 2. Transfer: freeze the features, compile again (a fresh 'adam'), retrain on digits 5–9.
console.log('transfer stage: digits 5–9, feature layers frozen');
freezeFeatures(model);
compile(model);
const frozenKernel = Array.from(model.layers[0]!.getWeights()[0]!.dataSync());
let batches = 0;
const trainer = new Trainer({ model });
await trainer.fit(transfer.train, {
  ...fitArgs,
  epochs: RUN.transferEpochs,
  callbacks: {
    onBatchEnd: async (_batch, logs) => {
      batches += 1; // the tfjs example plots logs.loss here
      if (!(typeof logs?.loss === 'number' && typeof logs.acc === 'number')) throw new Error('no batch logs');
    },
    onEpochEnd: async (epoch, logs) => {
      console.log(`  (callback) epoch ${epoch}: val_acc ${logs?.val_acc?.toFixed(3)}`);
    },
  },
});
const after = await trainer.evaluate(transfer.test);
const kernelMoved = model.layers[0]!.getWeights()[0]!
  .dataSync()
  .some((v, i) => v !== frozenKernel[i]);
const seconds = (performance.now() - started) / 1000;
console.log(
  `\nbase test accuracy on 0–4: ${baseAccuracy.toFixed(3)}; after transfer, test accuracy on 5–9: ${after.accuracy!.toFixed(3)} (${batches} batches seen by onBatchEnd; ${backend.backend}, ${seconds.toFixed(1)} s)`,
);

if (check && !(baseAccuracy >= 0.9 && after.accuracy! >= 0.85 && !kernelMoved && batches > 0)) {
  console.error(
    `FAIL: expected base accuracy ≥ 0.9, transfer accuracy ≥ 0.85, frozen features unchanged and batch callbacks; got ${baseAccuracy}, ${after.accuracy}, moved ${kernelMoved}, ${batches} batches`,
  );
  process.exit(1);
}
