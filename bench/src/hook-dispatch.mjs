// Hook cost vs plugin count, isolated: a 1→1 dense model at batch 1 on the cpu backend, so a step's
// tensor work is tiny and constant, and N plugins each with an (async) onBatchStart and onBatchEnd
// handler that does nothing. Per-step time is fitted with a line over N (slope = cost per plugin per
// step, R² = how linear). The loop-overhead benchmark shows the same cost is lost in the noise of a
// real step; this one measures it.
//
//   node bench/src/hook-dispatch.mjs        (from the repository root, after a build)
//   TL_BENCH_REPS=9 (rounds)  TL_BENCH_STEPS=500 (steps per timed epoch)
import * as tf from '@tensorflow/tfjs';
import { definePlugin, Trainer } from '@tensorloop/core';
import { describeMachine, machineLine } from './lib/machine.mjs';
import { commandLine, envInt, mdTable, sig, writeResults } from './lib/results.mjs';
import { linearFit, median } from './lib/stats.mjs';

const REPS = envInt('TL_BENCH_REPS', 9);
const STEPS = envInt('TL_BENCH_STEPS', 500);
const COUNTS = [0, 50, 100, 200, 400, 800];

function noop(count) {
  return Array.from({ length: count }, (_, i) =>
    definePlugin({ name: `noop-${i}`, onBatchStart: async () => {}, onBatchEnd: async () => {} }),
  );
}

function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function main() {
  await tf.setBackend('cpu');
  tf.enableProdMode();
  const machine = describeMachine();
  const x = tf.randomNormal([STEPS, 1], 0, 1, 'float32', 1);
  const y = tf.randomNormal([STEPS, 1], 0, 1, 'float32', 2);
  const trainers = COUNTS.map((count) => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
    return new Trainer({
      model,
      loss: 'mse',
      optimizer: tf.train.sgd(1e-3),
      plugins: noop(count),
      log: 'silent',
    });
  });
  const fitOptions = { epochs: 1, batchSize: 1, shuffle: false, checkData: false };
  for (const t of trainers) await t.fit({ x, y }, fitOptions); // warm-up
  const perStep = COUNTS.map(() => []);
  for (let r = 0; r < REPS; r++) {
    for (let k = 0; k < COUNTS.length; k++) {
      const i = (k + r) % COUNTS.length; // rotate the order each round
      const start = cpuMs();
      await trainers[i].fit({ x, y }, fitOptions);
      perStep[i].push(((cpuMs() - start) / STEPS) * 1000); // µs per step
    }
  }
  const medians = perStep.map(median);
  const fit = linearFit(COUNTS, medians);
  const result = {
    benchmark: 'hook-dispatch',
    date: new Date().toISOString(),
    command: commandLine(),
    machine,
    setup: {
      model: 'dense 1→1, batch 1, cpu backend, mse, sgd',
      steps: STEPS,
      reps: REPS,
      hooksPerPlugin: 2,
    },
    counts: COUNTS,
    medianMicrosPerStep: medians,
    fit: { slopeMicrosPerPluginPerStep: fit.slope, interceptMicros: fit.intercept, r2: fit.r2 },
    perHookCallMicros: fit.slope / 2,
    linear: fit.r2 >= 0.98,
  };
  const md = [
    '# Hook cost vs plugin count',
    '',
    `Command: \`${result.command}\`, ${result.date}. Machine: ${machineLine(machine)}`,
    '',
    `A dense 1→1 model at batch 1 on the cpu backend (tiny, constant tensor work per step), ${STEPS} steps per timed epoch, N plugins each with an async no-op \`onBatchStart\` and \`onBatchEnd\`. ${REPS} interleaved rounds (order rotated), medians of process CPU time per step.`,
    '',
    mdTable(
      ['plugins', 'µs per step (median)', 'over 0 plugins'],
      COUNTS.map((c, i) => [c, sig(medians[i]), `${sig(medians[i] - medians[0])} µs`]),
      'rrr',
    ),
    '',
    `Line fit: **${sig(fit.slope)} µs per plugin per step** (${sig(fit.slope / 2)} µs per hook call), intercept ${sig(fit.intercept)} µs, **R² = ${fit.r2.toFixed(4)}** — cost grows ${result.linear ? 'linearly' : 'not linearly'} with the plugin count (target: linear).`,
    '',
    `For scale: 100 such plugins add about ${sig(fit.slope * 100)} µs to a step; an MLP 784-256-128-10 step at batch 128 on wasm + @tensorloop/backend-wasm takes about 7,000 µs (see wasm-training.md).`,
  ].join('\n');
  await writeResults('hook-dispatch', result, md);
  console.log(md);
  tf.dispose([x, y]);
}

await main();
