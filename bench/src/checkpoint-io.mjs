// Checkpoint save/load time for a ~1M-parameter LayersModel with its Adam state, on the tfjs cpu backend.
//
//   node bench/src/checkpoint-io.mjs            (from the repository root, after `pnpm build`)
//
// Needs @tensorloop/core to export writeCheckpointDir, readCheckpointDir and registerFileSystemRouter.
//
// Times, as the median of RUNS runs after WARMUP warm-ups:
//   - save: model.save('file://dir', { includeOptimizer: true }) through the tensorloop file:// handler
//   - load: tf.loadLayersModel('file://dir/model.json') (model and Adam state restored)
//   - write / read: writeCheckpointDir / readCheckpointDir of the same files alone (fsync, sha256)
// Writes bench/results/checkpoint-io.json and .md (override the directory with TL_BENCH_RESULTS).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import {
  adam,
  readCheckpointDir,
  registerFileSystemRouter,
  Trainer,
  writeCheckpointDir,
} from '@tensorloop/core';

const WARMUP = 2;
const RUNS = 9;
const TARGET_MS = 1000;

function buildModel() {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [784], units: 1024, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 256, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  return model;
}

/** One training step, so that Adam has its m and v slots. */
async function trainOnce(model) {
  const x = tf.randomNormal([32, 784]);
  const y = tf.oneHot(tf.randomUniform([32], 0, 10, 'int32'), 10);
  await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
  tf.dispose([x, y]);
}

async function time(fn) {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function measure(fn) {
  for (let i = 0; i < WARMUP; i++) await fn();
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await time(fn));
  const sorted = [...runs].sort((a, b) => a - b);
  const round = (v) => Math.round(v * 10) / 10;
  return {
    medianMs: round(sorted[Math.floor(sorted.length / 2)]),
    minMs: round(sorted[0]),
    maxMs: round(sorted.at(-1)),
    runsMs: runs.map(round),
  };
}

async function captureArtifacts(model) {
  let captured;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
    { includeOptimizer: true },
  );
  return captured;
}

async function main() {
  const loadAverage = os.loadavg()[0];
  await tf.setBackend('cpu');
  await tf.ready();
  registerFileSystemRouter();
  const model = buildModel();
  await trainOnce(model);
  const params = model.countParams();

  const work = await mkdtemp(join(os.tmpdir(), 'tl-bench-checkpoint-'));
  try {
    const dir = join(work, 'model');
    const url = `file://${dir}`;
    const save = await measure(() => model.save(url, { includeOptimizer: true }));
    const load = await measure(async () => {
      const loaded = await tf.loadLayersModel(`${url}/model.json`);
      loaded.optimizer?.dispose();
      loaded.dispose();
    });

    const artifacts = await captureArtifacts(model);
    const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
    const files = {
      'model.json': JSON.stringify({ modelTopology: artifacts.modelTopology }),
      'weights.bin': weights,
    };
    const rawDir = join(work, 'raw');
    const write = await measure(() => writeCheckpointDir(rawDir, files));
    const read = await measure(() => readCheckpointDir(rawDir));

    // The trainer checkpoint: model + core Adam slots by name + trainer.json, through trainer.save
    // and Trainer.load (which also rebuilds the model from its topology).
    const trainerModel = buildModel();
    const trainer = new Trainer({
      model: trainerModel,
      loss: 'categoricalCrossentropy',
      optimizer: adam({ lr: 1e-3 }),
      log: 'silent',
    });
    const tx = tf.randomNormal([64, 784]);
    const ty = tf.oneHot(tf.randomUniform([64], 0, 10, 'int32'), 10);
    await trainer.fit({ x: tx, y: ty }, { epochs: 1, batchSize: 32 });
    tf.dispose([tx, ty]);
    const trainerDir = join(work, 'trainer');
    const trainerSave = await measure(() => trainer.save(trainerDir));
    const trainerLoad = await measure(async () => {
      const loaded = await Trainer.load(trainerDir, { log: 'silent' });
      loaded.optimizer.dispose();
      loaded.model.dispose();
    });
    trainer.optimizer.dispose();
    trainerModel.dispose();

    const optimizerWeights = artifacts.weightSpecs.filter((s) => s.group === 'optimizer').length;
    const result = {
      benchmark: 'checkpoint-io',
      date: new Date().toISOString(),
      command: 'node bench/src/checkpoint-io.mjs',
      // How the figures were produced when it was not the command above (e.g. a bundle of the sources).
      ...(process.env.TL_BENCH_NOTE ? { note: process.env.TL_BENCH_NOTE } : {}),
      machine: {
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cores: os.cpus().length,
        memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
        platform: `${os.platform()} ${os.release()} ${os.arch()}`,
        node: process.version,
        tfjs: tf.version.tfjs,
        backend: tf.getBackend(),
        // Other work on the machine slows fsync and the cpu backend; figures under load are not comparable.
        loadAverage1m: Math.round(loadAverage * 100) / 100,
      },
      model: {
        layers: 'dense 784 -> 1024 -> 256 -> 10',
        parameters: params,
        optimizer: 'adam (m and v slots, iteration count)',
        weightSpecs: artifacts.weightSpecs.length,
        optimizerWeightSpecs: optimizerWeights,
        weightsBytes: weights.byteLength,
      },
      warmup: WARMUP,
      runs: RUNS,
      targetMs: TARGET_MS,
      results: {
        save: { what: "model.save('file://dir', { includeOptimizer: true })", ...save },
        load: { what: "tf.loadLayersModel('file://dir/model.json') with optimizer", ...load },
        write: { what: 'writeCheckpointDir of model.json + weights.bin (fsync, sha256)', ...write },
        read: { what: 'readCheckpointDir of the same (verifies sha256)', ...read },
        trainerSave: {
          what: 'trainer.save(dir): model, core adam state by name, trainer.json (crash-safe)',
          ...trainerSave,
        },
        trainerLoad: {
          what: 'Trainer.load(dir): verify, rebuild model and optimizer, restore state',
          ...trainerLoad,
        },
      },
      pass:
        save.medianMs < TARGET_MS &&
        load.medianMs < TARGET_MS &&
        trainerSave.medianMs < TARGET_MS &&
        trainerLoad.medianMs < TARGET_MS,
    };

    const outDir = process.env.TL_BENCH_RESULTS ?? fileURLToPath(new URL('../results/', import.meta.url));
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, 'checkpoint-io.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(join(outDir, 'checkpoint-io.md'), markdown(result));
    console.log(markdown(result));
  } finally {
    await rm(work, { recursive: true, force: true });
    model.optimizer.dispose();
    model.dispose();
  }
}

function markdown(r) {
  const row = (name, m) => `| ${name} | ${m.what} | ${m.medianMs} | ${m.minMs} | ${m.maxMs} |`;
  return [
    '# Checkpoint I/O',
    '',
    `${r.model.parameters.toLocaleString('en-US')}-parameter LayersModel (${r.model.layers}) with Adam state: ` +
      `${(r.model.weightsBytes / 2 ** 20).toFixed(1)} MiB of weights ` +
      `(${r.model.weightSpecs} tensors, ${r.model.optimizerWeightSpecs} of them optimizer state).`,
    '',
    `Target: save and load each under ${r.targetMs} ms — **${r.pass ? 'met' : 'not met'}**.`,
    '',
    `| step | what | median ms | min ms | max ms |`,
    '| --- | --- | ---: | ---: | ---: |',
    row('save', r.results.save),
    row('load', r.results.load),
    row('write', r.results.write),
    row('read', r.results.read),
    row('trainer.save', r.results.trainerSave),
    row('Trainer.load', r.results.trainerLoad),
    '',
    `Median of ${r.runs} runs after ${r.warmup} warm-ups. Command: \`${r.command}\`.` +
      (r.note ? ` Note: ${r.note}` : ''),
    '',
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, ${r.machine.platform}, ` +
      `Node ${r.machine.node}, tfjs ${r.machine.tfjs} (${r.machine.backend} backend), ` +
      `1-minute load average ${r.machine.loadAverage1m} at the start. ${r.date}.`,
    '',
  ].join('\n');
}

await main();
