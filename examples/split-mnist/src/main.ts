// Split-MNIST with @tensorloop/meta-trainer: five tasks of two digits learnt one after the other with
// one 10-way head (class-incremental). Naive finetuning forgets the earlier tasks; rehearsal (a replay
// buffer, ./replay.ts) forgets less. Prints each run's accuracy matrix and figures.
// Run: node dist/main.js [--check]
import { mkdirSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type Plugin, Trainer } from '@tensorloop/core';
import {
  formatResults,
  type MetaResults,
  MetaTrainer,
  resultsToCsv,
  resultsToJson,
} from '@tensorloop/meta-trainer';
import { replay } from './replay.js';
import { splitMnist } from './split-mnist.js';

const check = process.argv.includes('--check');
const backend = await initBackend('auto', { quiet: true });
const tasks = splitMnist(200, 100);
console.log(
  `Split-MNIST: ${tasks.length} tasks of 2 digits, ${tasks[0]!.train.x.shape[0]} training and ${tasks[0]!.test.x.shape[0]} test digits each (backend ${backend.backend})\n`,
);

/** The same small MLP, the same initial weights, for every run. */
const mlp = () =>
  tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'hidden',
        inputShape: [784],
        units: 128,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({
        name: 'classifier',
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });

async function run(label: string, plugins: Plugin[]): Promise<MetaResults> {
  const model = mlp();
  const trainer = new Trainer({
    model,
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: tf.train.adam(1e-3),
    plugins,
    seed: 42,
    log: 'silent',
  });
  const meta = new MetaTrainer(trainer);
  const started = performance.now();
  const { results, time } = await meta.run(
    tasks.map((t) => ({ name: t.name, data: t.train, epochs: 2, batchSize: 32 })),
    { evaluate: { streams: { test: tasks.map((t) => t.test) }, at: 'init-and-each-stage' } },
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(`== ${label}: ${time.step} steps over ${time.stage + 1} stages in ${seconds.toFixed(1)} s`);
  console.log(formatResults(results));
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = label.split(' ')[0]!.toLowerCase();
  writeFileSync(new URL(`./results/${file}.csv`, import.meta.url), resultsToCsv(results));
  writeFileSync(new URL(`./results/${file}.json`, import.meta.url), resultsToJson(results));
  meta.dispose();
  trainer.optimizer.dispose();
  model.dispose();
  return results;
}

const naive = await run('naive finetuning', []);
const rehearsal = await run('rehearsal (replay 100 digits per task, 64 per batch)', [
  replay({ perStage: 100, batch: 64, seed: 7 }),
]);

const figures = (r: MetaResults) => r.summary[0]!;
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const a = figures(naive);
const b = figures(rehearsal);
console.log(
  `naive:     average accuracy ${pct(a.averageAccuracy)}, forgetting ${pct(a.forgetting)} (BWT ${pct(a.bwt)})`,
);
console.log(
  `rehearsal: average accuracy ${pct(b.averageAccuracy)}, forgetting ${pct(b.forgetting)} (BWT ${pct(b.bwt)})`,
);
console.log('(accuracy matrices as CSV and JSON in dist/results/)');

if (check) {
  const problems: string[] = [];
  if (!(a.forgetting > 0.5))
    problems.push(`naive finetuning should forget (forgetting ${pct(a.forgetting)} ≤ 50%)`);
  if (!(b.forgetting < a.forgetting - 0.2))
    problems.push(`rehearsal should forget less (${pct(b.forgetting)} vs ${pct(a.forgetting)})`);
  if (!(b.averageAccuracy > a.averageAccuracy + 0.2))
    problems.push(
      `rehearsal should end more accurate (${pct(b.averageAccuracy)} vs ${pct(a.averageAccuracy)})`,
    );
  if (problems.length > 0) {
    console.error(`FAIL: ${problems.join('; ')}`);
    process.exit(1);
  }
}
