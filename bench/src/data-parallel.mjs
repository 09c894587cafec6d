// Both cores (issue 21 point 4): Trainer.fit on one thread vs @tensorloop/data-parallel with
// workers: 2 (the main thread computes half of each batch, one worker thread the other half, one
// optimizer step), on wasm + @tensorloop/backend-wasm, MNIST digits, Adam. Targets on an idle
// machine: 2 threads ≥ 1.4× one thread on the MLP, ≥ 1.6× on the CNN.
//
// A third variant, "ceiling", says what two threads of this machine can give at most: the main
// thread and a worker thread each train their OWN copy of the model on half batches at the same
// time, with no communication at all (lib/half-batch-worker.mjs); its time per step is until both
// are done. Data parallelism does the same arithmetic plus the exchange, so it cannot beat it.
//
//   node bench/src/data-parallel.mjs            (from the repository root, after a build)
//   node bench/src/data-parallel.mjs --render   (re-render data-parallel.md from its JSON)
//
// One process. Per workload both variants train their own copy of the same initial weights; they run
// interleaved (the order rotates each round), REPS rounds after WARMUP rounds. A round is one fit of
// STEPS steps; its time runs from the end of the first step to the end of the last (the worker start
// at fit start and the first step's set-up are outside it, reported apart). Throughput is wall
// clock (two threads are the point); ratios are medians of per-round paired ratios. The 1-, 5- and
// 15-minute load averages are recorded before and after every round: the machine is shared, and a
// second thread only helps when a core is free.
//
// Environment (all optional): TL_BENCH_REPS=7  TL_BENCH_WARMUP=1  TL_BENCH_STEPS_MLP=200
//   TL_BENCH_STEPS_CNN=100  TL_BENCH_WORKLOADS=mlp-b128,cnn-b64  TL_BENCH_WORKERS=2
//   TL_BENCH_OPTIMIZER=core|tfjs (default core: lib/optimizers.mjs)

import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { Trainer } from '@tensorloop/core';
import { dataParallel } from '@tensorloop/data-parallel';
import { initBackend } from './lib/backends.mjs';
import { describeMachine, machineLine } from './lib/machine.mjs';
import { OPTIMIZERS, optimizerFor } from './lib/optimizers.mjs';
import { commandLine, envInt, mdTable, ratioText, resultsDir, sig, writeResults } from './lib/results.mjs';
import { interleave, median, pairedRatio, summarize } from './lib/stats.mjs';
import { buildModel, cloneModel, mnistTensors, WORKLOADS } from './lib/workloads.mjs';

// V8's garbage collector works on helper threads; with both cores training they take a core from
// a training thread. `node --single-threaded-gc bench/src/data-parallel.mjs` measures without them
// (a startup flag: V8 refuses it later) and writes data-parallel-single-threaded-gc.md.
const SINGLE_THREADED_GC = process.execArgv.includes('--single-threaded-gc');
const NAME = SINGLE_THREADED_GC ? 'data-parallel-single-threaded-gc' : 'data-parallel';
const REPS = envInt('TL_BENCH_REPS', 7);
const WARMUP = envInt('TL_BENCH_WARMUP', 1);
const WORKERS = envInt('TL_BENCH_WORKERS', 2);
const STEPS = { mlp: envInt('TL_BENCH_STEPS_MLP', 200), cnn: envInt('TL_BENCH_STEPS_CNN', 100) };
const OPTIMIZER = process.env.TL_BENCH_OPTIMIZER ?? 'core';
const TARGETS = { 'mlp-b128': 1.4, 'cnn-b64': 1.6 };
const log = (msg) => process.stderr.write(`[${NAME}] ${msg}\n`);

/** A plugin that timestamps the fit's start, its first batch end and its last. */
function timer() {
  const t = { fitStart: 0, epochStart: 0, batchEnds: [] };
  return {
    t,
    plugin: {
      name: 'bench-timer',
      onFitStart: () => {
        t.fitStart = performance.now();
        t.batchEnds = [];
      },
      onEpochStart: () => {
        t.epochStart = performance.now();
      },
      onBatchEnd: () => {
        t.batchEnds.push(performance.now());
      },
    },
  };
}

function makeVariant(name, template, kind, data, batch, steps, plugins) {
  const clock = timer();
  // The timer runs last in every hook, so onFitStart is stamped after the workers started.
  const timing = { ...clock.plugin, enforce: 'post' };
  const trainer = new Trainer({
    model: cloneModel(template, kind),
    loss: 'categoricalCrossentropy',
    optimizer: optimizerFor(OPTIMIZER),
    plugins: [...plugins(), timing],
    log: 'silent',
  });
  const startups = [];
  return {
    name,
    startups,
    trainer,
    run: async () => {
      const before = performance.now();
      const { history } = await trainer.fit(data, {
        epochs: 1,
        batchSize: batch,
        shuffle: false,
        checkData: false,
      });
      if (!Number.isFinite(history.at(-1).logs.loss)) throw new Error(`${name}: loss is not finite`);
      const ends = clock.t.batchEnds;
      if (ends.length !== steps) throw new Error(`${name}: ${ends.length} steps, expected ${steps}`);
      startups.push(clock.t.epochStart - before);
      // Milliseconds per step over steps 2..n (the first step includes the workers' configuration).
      return (ends.at(-1) - ends[0]) / (steps - 1);
    },
  };
}

/**
 * The ceiling: this thread and a worker thread each train their own model on half batches at once,
 * no communication; ms per step until both are done (whole fits: the first step is included).
 */
async function makeCeiling(kind, batch, steps) {
  const half = Math.ceil(batch / 2);
  const worker = new Worker(new URL('./lib/half-batch-worker.mjs', import.meta.url), {
    workerData: { kind, batch: half, steps, optimizer: OPTIMIZER },
  });
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const data = mnistTensors(half * steps, kind);
  const trainer = new Trainer({
    model: buildModel(kind),
    loss: 'categoricalCrossentropy',
    optimizer: optimizerFor(OPTIMIZER),
    log: 'silent',
  });
  return {
    name: 'ceiling',
    run: async () => {
      const start = performance.now();
      const other = new Promise((resolve) => worker.once('message', resolve));
      worker.postMessage('run');
      await trainer.fit(data, { epochs: 1, batchSize: half, shuffle: false, checkData: false });
      await other;
      return (performance.now() - start) / steps;
    },
    close: async () => {
      tf.dispose([data.x, data.y]);
      await worker.terminate();
    },
  };
}

async function measureWorkload(key) {
  const { model: kind, batch, title } = WORKLOADS[key];
  const steps = STEPS[kind];
  const data = mnistTensors(batch * steps, kind);
  const template = buildModel(kind);
  const variants = [
    makeVariant('1 thread', template, kind, data, batch, steps, () => []),
    makeVariant(`${WORKERS} threads`, template, kind, data, batch, steps, () => [
      dataParallel({ workers: WORKERS }),
    ]),
  ];
  const ceiling = await makeCeiling(kind, batch, steps);
  const loads = [];
  const loadProbe = {
    name: 'load',
    run: async () => {
      loads.push(os.loadavg()[0]);
      return 0;
    },
  };
  log(`${title}: ${steps} steps per round, ${REPS} rounds`);
  const { wall } = await interleave([...variants, ceiling, loadProbe], {
    reps: REPS,
    warmup: WARMUP,
    label: key,
    log,
  });
  tf.dispose([data.x, data.y]);
  await ceiling.close();
  const [one, two] = variants.map((v) => v.name);
  const stepsPerS = (ms) => 1000 / ms;
  const ratio = pairedRatio(wall[one], wall[two]); // time of one ÷ time of two = speed-up
  return {
    key,
    title,
    batch,
    steps,
    rounds: REPS,
    msPerStep: { [one]: summarize(wall[one]), [two]: summarize(wall[two]) },
    stepsPerSecond: { [one]: stepsPerS(median(wall[one])), [two]: stepsPerS(median(wall[two])) },
    perRoundRatio: wall[one].map((a, i) => a / wall[two][i]),
    speedup: ratio,
    ceiling: {
      msPerStep: summarize(wall.ceiling),
      speedup: pairedRatio(wall[one], wall.ceiling),
      perRoundRatio: wall[one].map((a, i) => a / wall.ceiling[i]),
    },
    target: TARGETS[key],
    workerStartMs: median(variants[1].startups),
    loadAverage1m: { min: Math.min(...loads), median: median(loads), max: Math.max(...loads) },
  };
}

function render(data) {
  const rows = data.workloads.map((w) => [
    w.title,
    `≥ ${w.target}×`,
    ratioText(w.speedup),
    w.ceiling ? ratioText(w.ceiling.speedup) : 'not measured',
    w.speedup >= w.target
      ? '**met**'
      : `not met (load average ${sig(w.loadAverage1m.median)} on ${data.machine.cores} cores)`,
  ]);
  const detail = data.workloads.map((w) => {
    const [one, two] = Object.keys(w.msPerStep);
    return [
      `### ${w.title}`,
      '',
      `${w.rounds} rounds of ${w.steps} steps (batch ${w.batch}); the 2-thread variant's fit starts its worker in ${sig(w.workerStartMs)} ms (median, outside the timed steps).`,
      '',
      mdTable(
        ['variant', 'ms/step (median)', 'spread', 'steps/s', 'speed-up'],
        [
          [
            one,
            sig(w.msPerStep[one].median),
            `${sig(w.msPerStep[one].relIqr * 100, 2)}%`,
            sig(w.stepsPerSecond[one]),
            '1.000×',
          ],
          [
            two,
            sig(w.msPerStep[two].median),
            `${sig(w.msPerStep[two].relIqr * 100, 2)}%`,
            sig(w.stepsPerSecond[two]),
            ratioText(w.speedup),
          ],
          ...(w.ceiling
            ? [
                [
                  'ceiling: 2 independent threads, half batches, no exchange',
                  sig(w.ceiling.msPerStep.median),
                  `${sig(w.ceiling.msPerStep.relIqr * 100, 2)}%`,
                  sig(1000 / w.ceiling.msPerStep.median),
                  ratioText(w.ceiling.speedup),
                ],
              ]
            : []),
        ],
        'lrrrr',
      ),
      '',
      `Per-round speed-ups: ${w.perRoundRatio.map((r) => r.toFixed(2)).join(', ')}${w.ceiling ? ` (ceiling: ${w.ceiling.perRoundRatio.map((r) => r.toFixed(2)).join(', ')})` : ''}. 1-minute load average during the rounds: ${sig(w.loadAverage1m.min)}–${sig(w.loadAverage1m.max)} (median ${sig(w.loadAverage1m.median)}).`,
    ].join('\n');
  });
  return [
    `# Data parallel on both cores: one thread vs \`dataParallel({ workers: 2 })\`${data.singleThreadedGc ? ', node --single-threaded-gc' : ''}`,
    '',
    `Issue 21 point 4. \`Trainer.fit\` on wasm + \`@tensorloop/backend-wasm\`, ${OPTIMIZERS[data.optimizer ?? 'tfjs']}, MNIST digits, one process: one thread against \`dataParallel({ workers: ${data.workers} })\` (the main thread computes the first half of each batch, a worker thread with its own wasm instance the second, gradients averaged through a SharedArrayBuffer, one optimizer step). Variants interleaved, order rotating each round; wall-clock time per step from the end of the first step to the end of the last; the speed-up is the median of per-round paired ratios. Targets are for an idle machine.`,
    '',
    'The ceiling column is what two threads of this machine give at most: the main thread and a worker thread each train their own model on half batches at the same time, with no communication at all (`bench/src/lib/half-batch-worker.mjs`; time per step until both are done, whole fits). Data parallelism does that arithmetic plus the exchange and one optimizer step, so it cannot exceed it.',
    '',
    mdTable(['workload', 'target (idle machine)', 'measured', 'ceiling', 'status'], rows, 'llrrl'),
    '',
    `Machine: ${machineLine(data.machine)} Load average at the end: ${data.loadAverageEnd.join(' / ')}.`,
    '',
    'A second thread needs a free core: with other processes on the machine (see the load average) the speed-up measured here is lower than an idle machine gives.',
    '',
    `Where a step goes with two threads, and why the MLP gains less: \`packages/data-parallel/README.md\` (Speed).${data.singleThreadedGc ? '' : ' The same benchmark under `node --single-threaded-gc`: `data-parallel-single-threaded-gc.md`.'}`,
    '',
    ...detail.flatMap((d) => [d, '']),
    `Command (from the repository root, after a build): \`${data.command}\`. Date: ${data.date}.`,
  ].join('\n');
}

async function main() {
  const jsonPath = path.join(resultsDir(), `${NAME}.json`);
  if (process.argv.includes('--render')) {
    const data = JSON.parse(await readFile(jsonPath, 'utf8'));
    await writeResults(NAME, data, render(data));
    return;
  }
  await initBackend('wasm+tl');
  const machine = describeMachine();
  const keys = (process.env.TL_BENCH_WORKLOADS ?? 'mlp-b128,cnn-b64').split(',');
  const workloads = [];
  for (const key of keys) workloads.push(await measureWorkload(key));
  const data = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' '),
    command: commandLine(),
    workers: WORKERS,
    optimizer: OPTIMIZER,
    singleThreadedGc: SINGLE_THREADED_GC,
    machine,
    loadAverageEnd: os.loadavg().map((v) => Math.round(v * 100) / 100),
    workloads,
  };
  const files = await writeResults(NAME, data, render(data));
  for (const w of workloads) log(`${w.key}: ${ratioText(w.speedup)} (target ${w.target}×)`);
  log(`wrote ${files.md}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
