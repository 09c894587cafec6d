// One tensorloop variant for wasm-speed.mjs and peers.mjs, serving requests (lib/turns.mjs).
// TL_SPEED_PACKAGES names a directory with built `core/` and `backend-wasm/` packages (today's
// code, built from an earlier commit); unset, the workspace packages are used.
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { serveTurns } from './turns.mjs';
import { buildModel, mnistTensors, trainFlopsPerSample } from './workloads.mjs';

const root = process.env.TL_SPEED_PACKAGES;
const importPackage = (name) =>
  root
    ? import(pathToFileURL(path.join(root, name, 'dist', 'index.js')).href)
    : import(`@tensorloop/${name}`);

let core;
const jobs = new Map();

function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function init() {
  const wasm = await importPackage('backend-wasm');
  const info = await wasm.initWasmBackend();
  tf.enableProdMode();
  core = await importPackage('core');
  return { patchedKernels: info.patchedKernels, simd: info.simd, threads: info.threads };
}

function makeOptimizer(name) {
  if (name === 'core-adam') return core.adam({ lr: 1e-3 });
  if (name === 'tfjs-adam') return tf.train.adam(1e-3);
  if (name === 'core-sgd') return core.sgd({ lr: 0.01 });
  throw new Error(`unknown optimizer ${name}`);
}

async function prepare({ id, kind, batch, samples, optimizer, workers }) {
  const model = buildModel(kind);
  const data = mnistTensors(samples, kind);
  const counts = [];
  const batchEnds = [];
  const probe = core.definePlugin({
    name: 'probe',
    enforce: 'post',
    onEpochEnd: () => void counts.push(tf.memory().numTensors),
    onBatchEnd: () => void batchEnds.push(performance.now()),
  });
  const trainer = new core.Trainer({
    model,
    loss: 'categoricalCrossentropy',
    optimizer: makeOptimizer(optimizer),
    log: 'silent',
    plugins: [
      probe,
      ...(workers > 1 ? [(await importPackage('data-parallel')).dataParallel({ workers })] : []),
    ],
  });
  const parallel = workers > 1;
  jobs.set(id, {
    trainer,
    data,
    batch,
    counts,
    batchEnds,
    parallel,
    model,
    flopsPerSample: trainFlopsPerSample(model),
  });
  return { flopsPerSample: trainFlopsPerSample(model) };
}

async function fit({ id, steps, epochs = 1, checkData = false }) {
  const job = jobs.get(id);
  const options = { epochs, batchSize: job.batch, checkData };
  if (steps !== undefined) options.stepsPerEpoch = steps;
  job.counts.length = 0;
  job.batchEnds.length = 0;
  const wall0 = performance.now();
  const cpu0 = cpuMs();
  const result = await job.trainer.fit(job.data, options);
  const cpu = cpuMs() - cpu0;
  let wall = performance.now() - wall0;
  // With workers, each fit starts a worker thread (~0.3 s): time the steps after the first instead,
  // scaled to the whole fit's steps (as data-parallel.md does).
  const ends = job.batchEnds;
  if (job.parallel && ends.length > 2) wall = ((ends.at(-1) - ends[0]) / (ends.length - 1)) * ends.length;
  const last = result.history.at(-1);
  return { cpuMs: cpu, wallMs: wall, steps: result.time.fitStep, loss: last?.loss, counts: [...job.counts] };
}

/** The wasm matMul ceiling: 512×512·512×512, same right operand (XNNPACK's packing cached). */
function matmul({ reps = 20 }) {
  const a = tf.randomUniform([512, 512]);
  const b = tf.randomUniform([512, 512]);
  const product = () => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  };
  for (let i = 0; i < 3; i++) product();
  const cpu0 = cpuMs();
  const wall0 = performance.now();
  for (let i = 0; i < reps; i++) product();
  const cpu = (cpuMs() - cpu0) / reps;
  const wall = (performance.now() - wall0) / reps;
  tf.dispose([a, b]);
  const flops = 2 * 512 ** 3;
  return { cpuMs: cpu, wallMs: wall, gflops: flops / cpu / 1e6 };
}

function dispose({ id }) {
  const job = jobs.get(id);
  if (!job) return {};
  tf.dispose([job.data.x, job.data.y]);
  job.model.dispose();
  jobs.delete(id);
  return {};
}

serveTurns(async (message) => {
  switch (message.op) {
    case 'init':
      return init();
    case 'prepare':
      return prepare(message);
    case 'fit':
      return fit(message);
    case 'matmul':
      return matmul(message);
    case 'dispose':
      return dispose(message);
    case 'load':
      return { loadAverage: os.loadavg() };
    default:
      throw new Error(`unknown op ${message.op}`);
  }
});
