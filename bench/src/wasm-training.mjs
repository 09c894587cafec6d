// Training throughput on tfjs's cpu backend, plain tfjs wasm, and wasm + @tensorloop/backend-wasm,
// side by side in one process: plain tfjs loops (optimizer.minimize in tf.tidy), warm-up,
// interleaved repetitions, medians. Writes bench/results/wasm-training.{json,md}.
//
//   node bench/src/wasm-training.mjs            (after building @tensorloop/backend-wasm)
//
// "Plain wasm" and "wasm + package" share one wasm backend: the package's kernels are swapped in
// and out of tfjs's kernel registry between repetitions (the originals are captured before the
// package is imported), so both see the same heap, the same process state and the same machine.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.join(here, '..', 'results');
const quick = process.argv.includes('--quick');

// The original wasm kernels must be set up (backend initialized) before the package replaces them.
await tf.setBackend('wasm');
await tf.ready();
tf.enableProdMode();

const PATCHED = [
  'BatchMatMul',
  '_FusedMatMul',
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'MaxPoolGrad',
  'UnsortedSegmentSum',
];
const originalKernels = new Map(PATCHED.map((name) => [name, tf.getKernel(name, 'wasm')]));
const pkg = await import('@tensorloop/backend-wasm');
const info = await pkg.initWasmBackend();
const patchedKernelConfigs = new Map(pkg.patchedKernels.map((name) => [name, tf.getKernel(name, 'wasm')]));

/** Puts either tfjs's own wasm kernels or the package's in tfjs's registry. */
function useKernels(which) {
  for (const name of pkg.patchedKernels) {
    if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
    const config = which === 'package' ? patchedKernelConfigs.get(name) : originalKernels.get(name);
    if (config !== undefined) tf.registerKernel(config);
  }
}

const VARIANTS = [
  { id: 'cpu', label: 'tfjs cpu', backend: 'cpu', kernels: 'plain' },
  { id: 'wasm', label: 'plain tfjs wasm', backend: 'wasm', kernels: 'plain' },
  { id: 'wasm+pkg', label: 'wasm + @tensorloop/backend-wasm', backend: 'wasm', kernels: 'package' },
];

async function activate(variant) {
  await tf.setBackend(variant.backend);
  if (variant.backend === 'wasm') useKernels(variant.kernels);
}

function randomBatch(batch, inputShape, classes) {
  return tf.tidy(() => {
    const x = tf.randomUniform([batch, ...inputShape], 0, 1);
    const labels = tf.randomUniform([batch], 0, classes, 'int32');
    return { x, y: tf.oneHot(labels, classes).toFloat() };
  });
}

const WORKLOADS = {
  mlp: {
    title: 'MLP 784-256-128-10, batch 128',
    batch: 128,
    inputShape: [784],
    build() {
      return tf.sequential({
        layers: [
          tf.layers.dense({ units: 256, activation: 'relu', inputShape: [784] }),
          tf.layers.dense({ units: 128, activation: 'relu' }),
          tf.layers.dense({ units: 10, activation: 'softmax' }),
        ],
      });
    },
    /** Multiply-adds ×2 per step: forward, weight gradients, input gradients except the first layer's. */
    flopsPerStep(batch) {
      const dims = [784, 256, 128, 10];
      let forward = 0;
      let inputGrads = 0;
      for (let i = 0; i < dims.length - 1; i++) {
        forward += 2 * batch * dims[i] * dims[i + 1];
        if (i > 0) inputGrads += 2 * batch * dims[i] * dims[i + 1];
      }
      return 2 * forward + inputGrads;
    },
  },
  cnn: {
    title: 'CNN conv16-pool-conv32-pool-dense10 on 28×28×1, batch 64',
    batch: 64,
    inputShape: [28, 28, 1],
    build() {
      return tf.sequential({
        layers: [
          tf.layers.conv2d({
            filters: 16,
            kernelSize: 3,
            padding: 'same',
            activation: 'relu',
            inputShape: [28, 28, 1],
          }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 10, activation: 'softmax' }),
        ],
      });
    },
    flopsPerStep(batch) {
      const conv1 = 2 * batch * 28 * 28 * 16 * 9 * 1;
      const conv2 = 2 * batch * 14 * 14 * 32 * 9 * 16;
      const dense = 2 * batch * 7 * 7 * 32 * 10;
      // forward + weight gradients for all; input gradients for all but the first layer.
      return 2 * (conv1 + conv2 + dense) + conv2 + dense;
    },
  },
};

const OPTIMIZERS = {
  sgd: () => tf.train.sgd(0.01),
  adam: () => tf.train.adam(0.001),
};

/** One training run (model, optimizer, data) living on one variant's backend. */
async function makeRun(variant, workloadId, optimizerId) {
  await activate(variant);
  const workload = WORKLOADS[workloadId];
  const model = workload.build();
  const optimizer = OPTIMIZERS[optimizerId]();
  const { x, y } = randomBatch(workload.batch, workload.inputShape, 10);
  const step = () =>
    tf.tidy(() =>
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), true),
    );
  return {
    async steps(n) {
      await activate(variant);
      const t0 = performance.now();
      let loss;
      for (let i = 0; i < n; i++) {
        loss?.dispose();
        loss = step();
      }
      const value = (await loss.data())[0];
      loss.dispose();
      const ms = (performance.now() - t0) / n;
      if (!Number.isFinite(value)) throw new Error(`loss is ${value}`);
      return ms;
    },
    async dispose() {
      await activate(variant);
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
    },
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function missingKernel(error) {
  const match = /Kernel '([^']+)' not registered/.exec(String(error?.message ?? error));
  return match
    ? `fails: missing kernel ${match[1]}`
    : `fails: ${String(error?.message ?? error).slice(0, 120)}`;
}

/**
 * Warm-up, then `rounds` rounds; each round runs every variant for `stepsPerRound` steps in turn
 * (rotating the order), so drift (thermal, GC, other load) hits all variants alike.
 */
async function benchmarkTraining(workloadId, optimizerId, { rounds, stepsPerRound, warmup, warmupMs }) {
  const runs = [];
  const out = {};
  for (const variant of VARIANTS) {
    try {
      const run = await makeRun(variant, workloadId, optimizerId);
      // Warm up by count and by time: V8 tiers wasm and JS code up to optimized code over the first
      // second or so of use, and early samples would otherwise measure the baseline compilers.
      const t0 = performance.now();
      for (let i = 0; i < 200 && (i < warmup || performance.now() - t0 < warmupMs); i++) await run.steps(1);
      runs.push({ variant, run, samples: [] });
    } catch (error) {
      out[variant.id] = { label: variant.label, error: missingKernel(error) };
    }
  }
  // The matMul ceiling is sampled inside the same rounds, so it sees the same machine conditions.
  const ceiling = workloadId === 'mlp' ? await makeMatMulProbe(512) : undefined;
  if (ceiling) runs.push({ variant: { id: 'matmul512' }, run: ceiling, samples: [] });
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < runs.length; k++) {
      const entry = runs[(k + r) % runs.length];
      const steps = entry.variant.id === 'cpu' ? Math.max(1, Math.floor(stepsPerRound / 6)) : stepsPerRound;
      entry.samples.push(await entry.run.steps(steps));
    }
  }
  if (ceiling) {
    const { samples } = runs.pop();
    const ms = median(samples);
    // Per round, dense-training GFLOP/s over matMul GFLOP/s: load from other processes that hits
    // one round hits both figures of that round alike.
    const pkgSamples = runs.find((entry) => entry.variant.id === 'wasm+pkg')?.samples ?? [];
    const flops = WORKLOADS[workloadId].flopsPerStep(WORKLOADS[workloadId].batch);
    const shares = pkgSamples.map((stepMs, r) => flops / stepMs / ((2 * 512 ** 3) / samples[r]));
    out.matmul512 = {
      msPerMatMul: round(ms, 2),
      gflops: round((2 * 512 ** 3) / ms / 1e6, 2),
      shareByRound: shares.map((x) => round(x, 3)),
      medianShareByRound: round(median(shares), 3),
    };
    ceiling.dispose();
  }
  const workload = WORKLOADS[workloadId];
  const flops = workload.flopsPerStep(workload.batch);
  for (const { variant, run, samples } of runs) {
    const ms = median(samples);
    out[variant.id] = {
      label: variant.label,
      msPerStep: round(ms, 2),
      stepsPerSec: round(1000 / ms, 2),
      samplesPerSec: round((1000 / ms) * workload.batch, 0),
      gflops: round(flops / ms / 1e6, 2),
      samplesMs: samples.map((s) => round(s, 2)),
    };
    await run.dispose();
  }
  return {
    workload: workloadId,
    title: workload.title,
    optimizer: optimizerId,
    flopsPerStep: flops,
    results: out,
  };
}

/** 512³ plain matMuls on wasm (same operands), timed like a training run's steps. */
async function makeMatMulProbe(n) {
  await activate(VARIANTS[2]);
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  return {
    async steps(count) {
      await activate(VARIANTS[2]);
      const samples = [];
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        const c = tf.matMul(a, b);
        c.dataSync();
        samples.push(performance.now() - t0);
        c.dispose();
      }
      return median(samples);
    },
    dispose() {
      tf.dispose([a, b]);
    },
  };
}

/** The wasm backend's own plain (untransposed, batch 1) matMul: the ceiling for dense training. */
async function benchmarkMatMul(n, reps) {
  await activate(VARIANTS[2]);
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const time = (fresh) => {
    const samples = [];
    for (let i = 0; i < reps; i++) {
      // "fresh": a new right operand each call, as in training where weights change every step
      // (XNNPACK re-packs it); otherwise the same operand, whose packing tfjs caches.
      const right = fresh ? b.add(0) : b;
      const t0 = performance.now();
      const c = tf.matMul(a, right);
      c.dataSync();
      samples.push(performance.now() - t0);
      c.dispose();
      if (fresh) right.dispose();
    }
    return median(samples);
  };
  const t0 = performance.now();
  while (performance.now() - t0 < 1500) time(false);
  const cachedMs = time(false);
  const freshMs = time(true);
  tf.dispose([a, b]);
  const flops = 2 * n ** 3;
  return {
    n,
    msCachedOperand: round(cachedMs, 2),
    gflopsCachedOperand: round(flops / cachedMs / 1e6, 2),
    msFreshOperand: round(freshMs, 2),
    gflopsFreshOperand: round(flops / freshMs / 1e6, 2),
  };
}

/** The slow path the package removes, for the record: 512³ with transposeA, plain vs package. */
async function benchmarkTransposed(n, reps) {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const out = {};
  for (const variant of VARIANTS.slice(1)) {
    await activate(variant);
    const samples = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const c = tf.matMul(a, b, true, false);
      c.dataSync();
      samples.push(performance.now() - t0);
      c.dispose();
    }
    out[variant.id] = round(median(samples), 2);
  }
  tf.dispose([a, b]);
  return out;
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const settings = quick
  ? {
      mlp: { rounds: 3, stepsPerRound: 4, warmup: 2, warmupMs: 500 },
      cnn: { rounds: 3, stepsPerRound: 2, warmup: 1, warmupMs: 500 },
      matmulReps: 5,
    }
  : {
      mlp: { rounds: 9, stepsPerRound: 16, warmup: 5, warmupMs: 2000 },
      cnn: { rounds: 5, stepsPerRound: 6, warmup: 1, warmupMs: 2000 },
      matmulReps: 31,
    };

const started = Date.now();
const loadBefore = os.loadavg();
const matmul = await benchmarkMatMul(512, settings.matmulReps);
const transposed = await benchmarkTransposed(512, Math.min(7, settings.matmulReps));
const training = [
  await benchmarkTraining('mlp', 'sgd', settings.mlp),
  await benchmarkTraining('mlp', 'adam', settings.mlp),
  await benchmarkTraining('cnn', 'sgd', settings.cnn),
  await benchmarkTraining('cnn', 'adam', settings.cnn),
];
const matmulAfter = await benchmarkMatMul(512, settings.matmulReps);

// The best plain-matMul rate seen anywhere in the run (standalone, cached or fresh operand).
const ceiling = Math.max(
  matmul.gflopsCachedOperand,
  matmulAfter.gflopsCachedOperand,
  matmul.gflopsFreshOperand,
  matmulAfter.gflopsFreshOperand,
);
const ratio = (a, b) => (a && b ? round(a / b, 2) : null);
const ratios = {};
for (const t of training) {
  const r = t.results;
  ratios[`${t.workload}/${t.optimizer}`] = {
    denseShareOfPlainMatMul: t.workload === 'mlp' ? r.matmul512.medianShareByRound : undefined,
    denseShareOfPlainMatMulMedians:
      t.workload === 'mlp' ? ratio(r['wasm+pkg'].gflops, r.matmul512.gflops) : undefined,
    denseShareOfBestMatMulSeen:
      t.workload === 'mlp' ? ratio(r['wasm+pkg'].gflops, Math.max(ceiling, r.matmul512.gflops)) : undefined,
    packageVsCpu: ratio(r.cpu.msPerStep, r['wasm+pkg'].msPerStep),
    packageVsPlainWasm: r.wasm.error ? r.wasm.error : ratio(r.wasm.msPerStep, r['wasm+pkg'].msPerStep),
    plainWasmVsCpu: r.wasm.error ? r.wasm.error : ratio(r.cpu.msPerStep, r.wasm.msPerStep),
  };
}

const cpus = os.cpus();
const machine = {
  cpu: cpus[0]?.model ?? 'unknown',
  cores: cpus.length,
  memoryGB: round(os.totalmem() / 2 ** 30, 1),
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  node: process.version,
  // Other processes share this machine; a 1-minute load above the core count means contention.
  loadAverage1m: { start: round(loadBefore[0], 2), end: round(os.loadavg()[0], 2) },
};
const command = `node bench/src/wasm-training.mjs${quick ? ' --quick' : ''}`;
const report = {
  name: 'wasm-training',
  date: new Date().toISOString(),
  command,
  durationSec: round((Date.now() - started) / 1000, 1),
  machine,
  versions: {
    tfjs: tf.version.tfjs,
    tfjsBackendWasm: info.wasmVersion,
    simd: info.simd,
    threads: info.threads,
  },
  settings,
  matmul512: { start: matmul, end: matmulAfter, bestGflops: ceiling },
  transposeA512Ms: transposed,
  training,
  ratios,
  targets: {
    denseTrainingShareOfPlainMatMul: { target: 0.5, measured: ratios['mlp/sgd'].denseShareOfPlainMatMul },
    cnnWasmVsCpu: {
      target: 10,
      measured: ratios['cnn/sgd'].packageVsCpu,
      adam: ratios['cnn/adam'].packageVsCpu,
    },
  },
};

writeFileSync(path.join(resultsDir, 'wasm-training.json'), `${JSON.stringify(report, null, 2)}\n`);

const cell = (r) => (r.error ? r.error : `${r.msPerStep} ms · ${r.samplesPerSec}/s · ${r.gflops} GFLOP/s`);
const lines = [
  '# Training on the wasm backend: tfjs cpu vs plain tfjs wasm vs wasm + @tensorloop/backend-wasm',
  '',
  `Command: \`${command}\` (after \`npx -y pnpm@10 --filter @tensorloop/backend-wasm build\`), ${report.date}, ${report.durationSec} s.`,
  '',
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB, ${machine.platform}, Node ${machine.node}; ` +
    `tfjs ${report.versions.tfjs}, wasm SIMD ${info.simd}, threads ${info.threads}. ` +
    `1-minute load average ${machine.loadAverage1m.start} at the start, ${machine.loadAverage1m.end} at the end ` +
    `(other jobs shared the machine: absolute times are noisy, same-round ratios are the robust figures).`,
  '',
  'Plain tfjs loops (`optimizer.minimize` in `tf.tidy`), random MNIST-shaped data, one process; per variant a',
  `warm-up (≥ 2 s), then ${settings.mlp.rounds} (MLP) / ${settings.cnn.rounds} (CNN) interleaved rounds (order rotated each round); medians of the per-step time.`,
  'GFLOP/s counts the multiply-adds of the forward pass, weight gradients and input gradients (×2).',
  '',
  '| workload | optimizer | tfjs cpu | plain tfjs wasm | wasm + @tensorloop/backend-wasm | vs cpu | vs plain wasm |',
  '|---|---|---|---|---|---|---|',
  ...training.map((t) => {
    const r = t.results;
    if (!r.cpu || !r['wasm+pkg']) return '';
    const q = ratios[`${t.workload}/${t.optimizer}`];
    return `| ${t.title} | ${t.optimizer} | ${cell(r.cpu)} | ${cell(r.wasm)} | ${cell(r['wasm+pkg'])} | ${q.packageVsCpu}× | ${
      typeof q.packageVsPlainWasm === 'number' ? `${q.packageVsPlainWasm}×` : '—'
    } |`;
  }),
  '',
  '## Matrix multiply on wasm (512×512·512×512)',
  '',
  `Interleaved with the MLP rounds (SGD run): ${training[0].results.matmul512.msPerMatMul} ms · ${training[0].results.matmul512.gflops} GFLOP/s; (Adam run): ${training[1].results.matmul512.msPerMatMul} ms · ${training[1].results.matmul512.gflops} GFLOP/s.`,
  '',
  '| standalone | start of run | end of run |',
  '|---|---|---|',
  `| plain matMul, same operand (XNNPACK packing cached) | ${matmul.msCachedOperand} ms · ${matmul.gflopsCachedOperand} GFLOP/s | ${matmulAfter.msCachedOperand} ms · ${matmulAfter.gflopsCachedOperand} GFLOP/s |`,
  `| plain matMul, fresh right operand each call | ${matmul.msFreshOperand} ms · ${matmul.gflopsFreshOperand} GFLOP/s | ${matmulAfter.msFreshOperand} ms · ${matmulAfter.gflopsFreshOperand} GFLOP/s |`,
  `| transposeA, plain tfjs wasm | ${transposed.wasm} ms | |`,
  `| transposeA, with the package | ${transposed['wasm+pkg']} ms | |`,
  '',
  '## Targets',
  '',
  `- Dense training (MLP, SGD) on wasm + package: ${training[0].results['wasm+pkg'].gflops} GFLOP/s = ` +
    `**${ratios['mlp/sgd'].denseShareOfPlainMatMul}×** the plain 512³ matMul measured in the same rounds ` +
    `(median of the per-round ratios; ratio of the medians: ${ratios['mlp/sgd'].denseShareOfPlainMatMulMedians}×, ` +
    `matMul median ${training[0].results.matmul512.gflops} GFLOP/s); target ≥ 0.5×. Against the best matMul rate seen anywhere ` +
    `in the run (${Math.max(ceiling, training[0].results.matmul512.gflops)} GFLOP/s): ${ratios['mlp/sgd'].denseShareOfBestMatMulSeen}×. ` +
    `With Adam (its update is elementwise work, not counted as FLOPs): ${ratios['mlp/adam'].denseShareOfPlainMatMul}×.`,
  `- CNN on wasm + package vs cpu: **${ratios['cnn/sgd'].packageVsCpu}×** (SGD), ${ratios['cnn/adam'].packageVsCpu}× (Adam); target ≥ 10×.`,
  `- Plain tfjs wasm on the CNN: ${training[2].results.wasm.error ?? 'trains'}.`,
  `- Dense training vs plain tfjs wasm: ${ratios['mlp/sgd'].packageVsPlainWasm}× (SGD), ${ratios['mlp/adam'].packageVsPlainWasm}× (Adam).`,
  '',
];
writeFileSync(path.join(resultsDir, 'wasm-training.md'), lines.join('\n'));
console.log(lines.join('\n'));
