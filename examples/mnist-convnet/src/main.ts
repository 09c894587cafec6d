// tfjs-examples mnist-node, ported from model.fit to a tensorloop Trainer (issue 22): the same
// compiled model, the same fit arguments; the Trainer takes the model's own loss, optimizer
// ('rmsprop', tfjs's defaults) and metrics, validates on the last 15% as model.fit does, and prints
// one line per epoch. Run: node dist/main.js [--check]   (--check exits non-zero below 85%)
import { initBackend, Trainer } from '@tensorloop/core';
import { digits } from './mnist-data.js';
import { createModel, RUN } from './model.js';

const check = process.argv.includes('--check');
const started = performance.now();
const backend = await initBackend('auto', { quiet: true });
const ALL = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const train = digits(ALL, 0, RUN.trainPerClass);
const test = digits(ALL, 700, 700 + RUN.testPerClass);

const model = createModel();
const trainer = new Trainer({ model }); // model.compile's loss, optimizer and metrics
await trainer.fit(train, {
  epochs: RUN.epochs,
  batchSize: RUN.batchSize,
  validationSplit: RUN.validationSplit,
});
const evalOutput = await trainer.evaluate(test);
const seconds = (performance.now() - started) / 1000;
console.log(
  `\nEvaluation result:\n  Loss = ${evalOutput.loss!.toFixed(3)}; Accuracy = ${evalOutput.accuracy!.toFixed(3)}\n(${backend.backend}, ${seconds.toFixed(1)} s)`,
);

if (check && !(evalOutput.accuracy! >= 0.85)) {
  console.error(`FAIL: expected test accuracy ≥ 0.85; got ${evalOutput.accuracy}`);
  process.exit(1);
}
