// What the tensorloop training loop costs: Trainer.fit against the loop a competent tfjs user
// writes by hand and against model.fit, on the same model, data, optimizer and backend (issue 8).
//
//   node bench/src/loop-overhead.mjs        (from the repository root, after `pnpm build`)
//
// One child process per backend (cpu, plain tfjs wasm, wasm + @tensorloop/backend-wasm): the
// package replaces wasm kernels process-wide, so backends cannot share a process. Inside a child,
// every variant of a workload gets its own copy of the same initial weights and its own
// tf.train.adam(1e-3), and the variants run interleaved (rotating order), REPS rounds of one
// epoch each after WARMUP epochs; we report medians and per-round paired ratios.
// A last child measures how cost grows (dataset size, plugin count) and tensor counts over 2,000 steps.
//
// Environment (all optional):
//   TL_BENCH_REPS=5  TL_BENCH_WARMUP=1  TL_BENCH_EPOCH_MS=1000 (target duration of one timed epoch)
//   TL_BENCH_BACKENDS=cpu,wasm,wasm+tl  TL_BENCH_WORKLOADS=mlp-b32,mlp-b128,cnn-b64
//   TL_BENCH_STUDY_BACKEND=<backend> (default: the fastest that worked)  TL_BENCH_STUDIES=0 to skip
//   TL_BENCH_RESULTS=<dir> (default bench/results)

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { adam, Trainer } from '@tensorloop/core';
import { BACKENDS, errorText, initBackend, tensorloopWasmMissing } from './lib/backends.mjs';
import { parseArgs, runChild } from './lib/child.mjs';
import { describeMachine, machineLine } from './lib/machine.mjs';
import { noopPlugins, standardSet, tensorCountProbe } from './lib/plugins.mjs';
import { commandLine, envInt, mdTable, ratioText, sig, writeResults } from './lib/results.mjs';
import { interleave, linearFit, median, pairedRatio, summarize } from './lib/stats.mjs';
import { buildModel, cloneModel, mnistTensors, trainFlopsPerSample, WORKLOADS } from './lib/workloads.mjs';

const NAME = 'loop-overhead';
const REPS = envInt('TL_BENCH_REPS', 5);
const WARMUP = envInt('TL_BENCH_WARMUP', 1);
const EPOCH_MS = envInt('TL_BENCH_EPOCH_MS', 1000);
/** Which clock the tables and ratios use: process CPU time (default) or wall time. Both are recorded. */
const CLOCK = process.env.TL_BENCH_CLOCK === 'wall' ? 'wall' : 'cpu';
const OTHER = CLOCK === 'wall' ? 'cpu' : 'wall';
/** A step slower than this makes the workload "slow": 1 step per epoch, ≤ 3 rounds, 4 variants. */
const SLOW_STEP_MS = 1000;
const LR = 1e-3;
const log = (msg) => process.stderr.write(`[${NAME}] ${msg}\n`);

const VARIANTS = {
  'hand-slice': 'hand-written loop: minimize in tf.tidy, tf.slice batches in order',
  'hand-gather': 'hand-written loop, shuffled: tf.gather of a per-epoch permutation per batch',
  fit: "model.fit defaults (shuffle, yieldEvery 'auto')",
  'fit-never': "model.fit, yieldEvery: 'never'",
  'trainer-noshuffle': 'Trainer.fit, no plugins, shuffle: false, checkData: false',
  trainer: 'Trainer.fit, no plugins, defaults (shuffle, checkData)',
  'trainer-noop100': 'Trainer.fit, 100 no-op plugins, shuffle: false, checkData: false',
  'trainer-standard':
    'Trainer.fit, standard set (early stopping, one-cycle, checkpoint, progress, report), shuffle: false, checkData: false',
};
const SLOW_VARIANTS = ['hand-slice', 'fit', 'trainer-noshuffle', 'trainer'];

// ---------------------------------------------------------------------------------------------
// Variants. Each `run()` trains one epoch over the whole data and returns its wall time in ms.
// ---------------------------------------------------------------------------------------------

/** Shuffled indices with a small seeded generator (the Trainer uses its own seeded RNG). */
function permutation(n, seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/**
 * The loop a competent user writes: optimizer.minimize in a tf.tidy per batch, the batch cut
 * inside the tidy, the epoch's mean loss summed on the device and read once at the end (what
 * Trainer.fit and model.fit also report).
 */
function handLoop({ model, x, y, batch, shuffle }) {
  const optimizer = tf.train.adam(LR);
  const varList = model.trainableWeights.map((w) => w.read());
  const n = y.shape[0];
  let epoch = 0;
  return async () => {
    const start = performance.now();
    const order = shuffle ? tf.tensor1d(permutation(n, ++epoch), 'int32') : undefined;
    let sum = tf.scalar(0);
    for (let from = 0; from < n; from += batch) {
      const size = Math.min(batch, n - from);
      const next = tf.tidy(() => {
        const idx = order ? order.slice(from, size) : undefined;
        const xb = idx ? tf.gather(x, idx) : x.slice(from, size);
        const yb = idx ? tf.gather(y, idx) : y.slice(from, size);
        const loss = optimizer.minimize(
          () => tf.mean(tf.metrics.categoricalCrossentropy(yb, model.apply(xb, { training: true }))),
          true,
          varList,
        );
        return tf.add(sum, tf.mul(loss, size));
      });
      sum.dispose();
      sum = next;
    }
    const mean = (await sum.data())[0] / n;
    sum.dispose();
    order?.dispose();
    if (!Number.isFinite(mean)) throw new Error(`hand loop loss is ${mean}`);
    return performance.now() - start;
  };
}

function modelFit({ model, x, y, batch, yieldEvery }) {
  model.compile({ optimizer: tf.train.adam(LR), loss: 'categoricalCrossentropy' });
  return async () => {
    const start = performance.now();
    await model.fit(x, y, { epochs: 1, batchSize: batch, verbose: 0, ...(yieldEvery ? { yieldEvery } : {}) });
    return performance.now() - start;
  };
}

function trainerFit({ model, x, y, batch, plugins = [], fitOptions = {}, optimizer }) {
  const trainer = new Trainer({
    model,
    loss: 'categoricalCrossentropy',
    optimizer: optimizer ?? tf.train.adam(LR),
    log: 'silent',
    plugins,
  });
  return async () => {
    const start = performance.now();
    await trainer.fit({ x, y }, { epochs: 1, batchSize: batch, ...fitOptions });
    return performance.now() - start;
  };
}

const FAST = { shuffle: false, checkData: false };

function makeVariant(name, base, cleanup) {
  const model = cloneModel(base.template, base.kind);
  const ctx = { ...base, model };
  switch (name) {
    case 'hand-slice':
      return handLoop({ ...ctx, shuffle: false });
    case 'hand-gather':
      return handLoop({ ...ctx, shuffle: true });
    case 'fit':
      return modelFit(ctx);
    case 'fit-never':
      return modelFit({ ...ctx, yieldEvery: 'never' });
    case 'trainer-noshuffle':
      return trainerFit({ ...ctx, fitOptions: FAST });
    case 'trainer':
      return trainerFit(ctx);
    case 'trainer-noop100':
      return trainerFit({ ...ctx, plugins: noopPlugins(100), fitOptions: FAST });
    case 'trainer-standard': {
      const standard = standardSet();
      cleanup.push(standard.dispose);
      return trainerFit({ ...ctx, plugins: standard.plugins, fitOptions: FAST });
    }
    default:
      throw new Error(`unknown variant ${name}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Child: one backend.
// ---------------------------------------------------------------------------------------------

/** ms per step of the hand loop on a few batches, to size the timed epoch. */
async function calibrate(template, kind, batch) {
  const data = mnistTensors(batch * 2, kind);
  const model = cloneModel(template, kind);
  try {
    const run = handLoop({ model, x: data.x, y: data.y, batch, shuffle: false });
    await run();
    return (await run()) / 2;
  } finally {
    model.dispose();
    tf.dispose(data);
  }
}

async function measureWorkload(key, backend) {
  const wl = WORKLOADS[key];
  const template = buildModel(wl.model);
  const flopsPerSample = trainFlopsPerSample(template);
  const stepMs = await calibrate(template, wl.model, wl.batch);
  const slow = stepMs > SLOW_STEP_MS;
  const steps = slow ? 1 : Math.max(2, Math.round(EPOCH_MS / stepMs));
  const reps = slow ? Math.min(REPS, 3) : REPS;
  const names = slow ? SLOW_VARIANTS : Object.keys(VARIANTS);
  log(
    `${backend} ${key}: ~${sig(stepMs)} ms/step → ${steps} steps per epoch, ${reps} rounds, ${names.length} variants`,
  );
  const data = mnistTensors(steps * wl.batch, wl.model);
  const cleanup = [];
  const base = { template, kind: wl.model, x: data.x, y: data.y, batch: wl.batch };
  const variants = names.map((name) => ({ name, run: makeVariant(name, base, cleanup) }));
  try {
    const clocks = await interleave(variants, { reps, warmup: WARMUP, label: `${backend} ${key}`, log });
    const times = clocks[CLOCK];
    const other = clocks[OTHER];
    const samples = steps * wl.batch;
    const result = {};
    for (const name of names) {
      const s = summarize(times[name]);
      result[name] = {
        ...s,
        stepsPerSec: steps / (s.median / 1000),
        samplesPerSec: samples / (s.median / 1000),
        gflops: (flopsPerSample * samples) / (s.median / 1000) / 1e9,
        // Throughput ratios (base time / variant time), median over paired rounds.
        vsHandSlice: pairedRatio(times['hand-slice'], times[name]),
        vsHandGather: times['hand-gather'] ? pairedRatio(times['hand-gather'], times[name]) : undefined,
        vsFit: pairedRatio(times.fit, times[name]),
        vsFitNever: times['fit-never'] ? pairedRatio(times['fit-never'], times[name]) : undefined,
        vsTrainerNoShuffle: pairedRatio(times['trainer-noshuffle'], times[name]),
        [OTHER]: { median: median(other[name]), vsHandSlice: pairedRatio(other['hand-slice'], other[name]) },
      };
    }
    return {
      title: wl.title,
      batch: wl.batch,
      params: template.countParams(),
      flopsPerSample,
      steps,
      reps,
      warmup: WARMUP,
      slow,
      variants: result,
    };
  } finally {
    for (const fn of cleanup) fn();
    tf.dispose(data);
    template.dispose();
  }
}

/** The reason a workload cannot train on this backend (one real step), or undefined. */
async function trainingFailure(kind, batch) {
  const data = mnistTensors(batch, kind);
  const model = buildModel(kind);
  try {
    await handLoop({ model, x: data.x, y: data.y, batch, shuffle: false })();
    return undefined;
  } catch (error) {
    return errorText(error);
  } finally {
    model.dispose();
    tf.dispose(data);
  }
}

async function loopPart(backend) {
  const keys = (process.env.TL_BENCH_WORKLOADS ?? Object.keys(WORKLOADS).join(',')).split(',');
  const workloads = {};
  for (const key of keys) {
    if (!WORKLOADS[key]) throw new Error(`unknown workload ${key}`);
    const failure = await trainingFailure(WORKLOADS[key].model, WORKLOADS[key].batch);
    if (failure) {
      log(`${backend} ${key}: skipped, cannot train: ${failure}`);
      workloads[key] = { title: WORKLOADS[key].title, skipped: `cannot train on ${backend}: ${failure}` };
      continue;
    }
    try {
      workloads[key] = await measureWorkload(key, backend);
    } catch (error) {
      log(`${backend} ${key}: failed: ${errorText(error)}`);
      workloads[key] = { title: WORKLOADS[key].title, skipped: `failed: ${errorText(error)}` };
    }
  }
  return { workloads };
}

/** Epoch time of Trainer.fit (defaults) over 4 dataset sizes; a line through them. */
async function growthStudy() {
  const kind = 'mlp';
  const batch = 32;
  const template = buildModel(kind);
  const stepMs = await calibrate(template, kind, batch);
  const baseSteps = Math.max(2, Math.round(EPOCH_MS / 2 / stepMs));
  const sizes = [1, 2, 3, 4].map((k) => k * baseSteps * batch);
  const data = sizes.map((n) => mnistTensors(n, kind));
  const variants = sizes.map((n, i) => ({
    name: String(n),
    run: trainerFit({ model: cloneModel(template, kind), x: data[i].x, y: data[i].y, batch }),
  }));
  const clocks = await interleave(variants, { reps: REPS, warmup: WARMUP, label: 'growth', log });
  tf.dispose(data);
  template.dispose();
  const line = (times) => {
    const medians = sizes.map((n) => summarize(times[String(n)]).median);
    const fit = linearFit(sizes, medians);
    return { medianMs: medians, msPer1000Samples: fit.slope * 1000, interceptMs: fit.intercept, r2: fit.r2 };
  };
  return {
    workload: 'MLP 784-256-128-10, batch 32, Trainer.fit defaults',
    sizes,
    ...line(clocks[CLOCK]),
    [OTHER]: line(clocks[OTHER]),
  };
}

/** Per-step time of Trainer.fit on a tiny model with 0, 10, 50, 100 no-op plugins. */
async function pluginCountStudy() {
  const counts = [0, 10, 50, 100];
  const steps = 400;
  const batch = 8;
  const x = tf.randomNormal([steps * batch, 8], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([steps * batch], 0, 10, 'int32', 2), 10).toFloat();
  const tiny = () => {
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [8], units: 10, activation: 'softmax', kernelInitializer: 'zeros' }));
    return m;
  };
  const variants = counts.map((c) => ({
    name: String(c),
    run: trainerFit({ model: tiny(), x, y, batch, plugins: noopPlugins(c), fitOptions: FAST }),
  }));
  const clocks = await interleave(variants, { reps: REPS, warmup: WARMUP, label: 'plugins', log });
  tf.dispose([x, y]);
  const line = (times) => {
    const perStepUs = counts.map((c) => (summarize(times[String(c)]).median / steps) * 1000);
    const fit = linearFit(counts, perStepUs);
    return { perStepUs, usPerPluginPerStep: fit.slope, interceptUs: fit.intercept, r2: fit.r2 };
  };
  return {
    workload: `Dense 8→10 softmax, batch ${batch}, ${steps} steps per epoch; plugins with no-op onBatchStart/onBatchEnd/onEpochEnd`,
    counts,
    ...line(clocks[CLOCK]),
    [OTHER]: line(clocks[OTHER]),
  };
}

/** tf.memory().numTensors at optimizer steps 200 and 2,000 of one long fit. */
async function tensorCountStudy(label, makeOptimizer) {
  const kind = 'mlp';
  const batch = 32;
  // Short epochs, so that step 200 already follows epoch ends (early stopping's first snapshot).
  const stepsPerEpoch = 100;
  const model = buildModel(kind, { hidden: [64] });
  const data = mnistTensors(stepsPerEpoch * batch, kind);
  const probe = tensorCountProbe([200, 2000]);
  const standard = standardSet();
  const trainer = new Trainer({
    model,
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: makeOptimizer(),
    log: 'silent',
    plugins: [...standard.plugins, ...noopPlugins(1), probe.plugin],
  });
  const before = tf.memory().numTensors;
  try {
    await trainer.fit(data, { epochs: 2000 / stepsPerEpoch, batchSize: batch });
  } finally {
    standard.dispose();
  }
  log(`tensor counts (${label}): ${JSON.stringify(probe.counts)}`);
  const result = {
    optimizer: label,
    atStep200: probe.counts[200],
    atStep2000: probe.counts[2000],
    beforeFit: before,
    afterFit: tf.memory().numTensors,
  };
  tf.dispose(data);
  model.dispose();
  return result;
}

async function studiesPart() {
  const growth = await growthStudy();
  const plugins = await pluginCountStudy();
  const tensors = [
    await tensorCountStudy('tf.train.adam(1e-3)', () => tf.train.adam(LR)),
    await tensorCountStudy('@tensorloop/core adam({ lr: 1e-3 })', () => adam({ lr: LR })),
  ];
  return {
    growth,
    plugins,
    tensors: {
      workload:
        'MLP 784-64-10, batch 32, 20 epochs × 100 steps, metrics [accuracy], Trainer defaults with the standard set (every first-party plugin: early stopping, one-cycle, checkpoint, progress, report) + 1 no-op plugin',
      runs: tensors,
    },
  };
}

async function childMain(args) {
  const backend = args.child;
  let out;
  try {
    const details = await initBackend(backend);
    const machine = describeMachine(tf.getBackend());
    const part = args.part === 'studies' ? await studiesPart() : await loopPart(backend);
    out = { backend, details, machine, ...part };
  } catch (error) {
    log(`${backend}: ${errorText(error)}`);
    out = { backend, error: errorText(error) };
  }
  writeFileSync(args.out, JSON.stringify(out));
}

// ---------------------------------------------------------------------------------------------
// Parent: run the children, judge the targets, write the results.
// ---------------------------------------------------------------------------------------------

const TARGETS = [
  {
    id: 'trainer-vs-hand',
    variant: 'trainer-noshuffle',
    ratio: 'vsHandSlice',
    min: 0.97,
    text: 'Trainer, no plugins (shuffle:false) ≥ 0.97× hand loop (slice)',
  },
  {
    id: 'trainer-vs-hand-shuffled',
    variant: 'trainer',
    ratio: 'vsHandGather',
    min: 0.97,
    text: 'Trainer, no plugins (defaults, shuffled) ≥ 0.97× hand loop (gather)',
  },
  {
    id: 'trainer-vs-fit',
    variant: 'trainer',
    ratio: 'vsFit',
    min: 1.0,
    text: 'Trainer, no plugins (defaults) ≥ 1.0× model.fit (defaults)',
  },
  {
    id: 'trainer-vs-fit-never',
    variant: 'trainer',
    ratio: 'vsFitNever',
    min: 1.0,
    text: "Trainer, no plugins (defaults) ≥ 1.0× model.fit (yieldEvery 'never')",
  },
  {
    id: 'standard-vs-hand',
    variant: 'trainer-standard',
    ratio: 'vsHandSlice',
    min: 0.93,
    text: 'Standard set ≥ 0.93× hand loop (slice)',
  },
  {
    id: 'noop100-vs-hand',
    variant: 'trainer-noop100',
    ratio: 'vsHandSlice',
    min: 0.98,
    text: '100 no-op plugins ≥ 0.98× hand loop (slice)',
  },
];

function judgeTargets(runs, studies) {
  const rows = [];
  for (const t of TARGETS) {
    for (const [backend, run] of Object.entries(runs)) {
      for (const [key, wl] of Object.entries(run.workloads ?? {})) {
        const v = wl.variants?.[t.variant];
        const value = v?.[t.ratio];
        if (value === undefined) continue;
        rows.push({
          target: t.text,
          where: `${backend}, ${key}`,
          value,
          figure: ratioText(value),
          met: value >= t.min,
        });
      }
    }
  }
  const cpu = runs.cpu?.workloads;
  const fast = runs['wasm+tl']?.workloads;
  for (const key of Object.keys(WORKLOADS)) {
    const target =
      'Default config (wasm + @tensorloop/backend-wasm, Trainer defaults) ≥ 10× model.fit on cpu';
    const a = fast?.[key]?.variants?.trainer?.samplesPerSec;
    const b = cpu?.[key]?.variants?.fit?.samplesPerSec;
    if (a === undefined || b === undefined) {
      const why = !fast
        ? 'wasm + @tensorloop/backend-wasm not measured'
        : !cpu
          ? 'cpu not measured'
          : 'workload skipped';
      rows.push({ target, where: key, figure: `not measured (${why})`, met: undefined });
    } else {
      rows.push({
        target,
        where: key,
        value: a / b,
        figure: `${(a / b).toFixed(2)}× (${sig(a)} vs ${sig(b)} samples/s, separate processes)`,
        met: a / b >= 10,
      });
    }
  }
  if (studies?.tensors) {
    for (const r of studies.tensors.runs) {
      rows.push({
        target: 'tf.memory().numTensors identical at step 200 and step 2,000',
        where: `${studies.backend}, ${r.optimizer}`,
        figure: `${r.atStep200} vs ${r.atStep2000}`,
        met: r.atStep200 !== undefined && r.atStep200 === r.atStep2000,
      });
    }
    rows.push({
      target: 'Epoch time linear in dataset size (R² of a line over 4 sizes)',
      where: studies.backend,
      figure: `R² = ${studies.growth.r2.toFixed(4)} (${OTHER} clock: ${studies.growth[OTHER].r2.toFixed(4)})`,
      met: studies.growth.r2 >= 0.99,
    });
    rows.push({
      target: 'Hook cost linear in plugin count (R² over 0/10/50/100 no-op plugins)',
      where: studies.backend,
      figure:
        `R² = ${studies.plugins.r2.toFixed(4)}, ${sig(studies.plugins.usPerPluginPerStep)} µs per plugin per step ` +
        `(${OTHER} clock: R² = ${studies.plugins[OTHER].r2.toFixed(4)}, ` +
        `${sig(studies.plugins[OTHER].usPerPluginPerStep)} µs)`,
      met: studies.plugins.r2 >= 0.95,
    });
  }
  return rows;
}

/** Findings the tables show that a reader should not have to dig out. */
function observations(runs) {
  const notes = [];
  const sliceHits = [];
  for (const [backend, run] of Object.entries(runs)) {
    for (const [key, wl] of Object.entries(run.workloads ?? {})) {
      const gatherOverSlice = wl.variants?.['hand-gather']?.vsHandSlice;
      if (backend !== 'cpu' && gatherOverSlice > 1.3)
        sliceHits.push(`${backend} ${key} ${gatherOverSlice.toFixed(1)}×`);
    }
  }
  if (sliceHits.length) {
    notes.push(
      `On wasm, batches cut with \`tf.slice\` make an epoch slower than batches gathered by index (${sliceHits.join(', ')}). ` +
        "tfjs-backend-wasm 4.22's Slice kernel calls `backend.readSync(x.dataId)`, which copies the *whole* source " +
        'tensor out of the wasm heap (`HEAPU8.slice`) on every call, so each batch costs O(dataset size) and the ' +
        "gap grows with the dataset. It hits hand loops and `Trainer.fit({ shuffle: false })` alike (core's " +
        'TensorSource slices when not shuffling); `tf.gather` does not. Fix candidates: core cuts batches with ' +
        'gather (or slices once per epoch), or @tensorloop/backend-wasm patches Slice to read only the range.',
    );
  }
  return notes;
}

const metText = (m) => (m === undefined ? 'not measured' : m ? '**met**' : '**not met**');

function markdown(report) {
  const { runs, studies, targets, skipped } = report;
  const out = [];
  out.push('# Loop overhead: Trainer.fit vs a hand-written tfjs loop vs model.fit', '');
  out.push(
    'Throughput of one training epoch per variant, same initial weights, same MNIST digits, same ' +
      'optimizer (`tf.train.adam(1e-3)`, a fresh one per variant), same backend, in one process per backend. ' +
      `Variants run interleaved (rotating order) for ${REPS} rounds after ${WARMUP} warm-up epoch(s); ` +
      'times are medians, ratios are medians of per-round paired ratios (throughput of the variant ÷ ' +
      'throughput of the base; > 1 means faster than the base). The machine is shared with other ' +
      'engineers running tests, which is why rounds are interleaved and medians used; `spread` is the ' +
      'interquartile range over the median.',
    '',
    CLOCK === 'cpu'
      ? 'Times are **process CPU time** (user + system, `process.cpuUsage()`): the backends compute on one ' +
          'thread, and on a loaded 2-core machine wall time also counts the time the process waited for a ' +
          'core, which varied by tens of percent between rounds. Wall-time ratios are recorded too (last ' +
          'column, and in the JSON); set `TL_BENCH_CLOCK=wall` to make wall time the primary clock. ' +
          'Throughput (steps/s, samples/s, GFLOP/s) is per second of that clock.'
      : 'Times are wall-clock; process CPU time ratios are in the last column and the JSON.',
    '',
  );
  out.push('## Targets (issue 8)', '');
  out.push(
    mdTable(
      ['target', 'where', 'figure', 'verdict'],
      targets.map((t) => [t.target, t.where, t.figure ?? ratioText(t.value), metText(t.met)]),
    ),
    '',
  );
  out.push('## Variants', '');
  out.push(
    mdTable(
      ['variant', 'what'],
      Object.entries(report.variants ?? VARIANTS).map(([k, v]) => [`\`${k}\``, v]),
    ),
    '',
  );
  out.push(
    'The hand loops are what a competent user writes (`optimizer.minimize(f, true, varList)` in a ' +
      '`tf.tidy` per batch, the epoch loss summed on the device and read once). The Trainer shuffles ' +
      'with one `tf.gather` per batch unless `shuffle: false`, as model.fit does; so `trainer-noshuffle` ' +
      'is compared with `hand-slice`, and `trainer` (defaults) with `hand-gather` and with model.fit. ' +
      '`checkData` (default true) scans the whole training data for NaN once per `fit()` call; it is ' +
      'a per-fit cost that the timed 1-epoch fits include only in `trainer`.',
    '',
  );
  out.push(
    'The standard set uses the real `@tensorloop/early-stopping` (restoreBestWeights: clones every ' +
      'weight on an improved epoch; it never stops here), `oneCycle` from `@tensorloop/lr-schedules` ' +
      '(writes lr and momentum every batch) and core `checkpoint()` (writes the best epoch: model, ' +
      'optimizer and trainer state, crash-safe). ' +
      // Results measured before the progress and report packages existed name their stand-ins.
      (/stand-ins/.test(report.variants?.['trainer-standard'] ?? '')
        ? 'Progress and report did not exist when these numbers were measured: stand-ins emulated them ' +
          '(progress redrawing every 100 ms reading the batch loss, one sync; report collecting epoch ' +
          'logs and rendering a table at fit end). '
        : 'Progress is the real `@tensorloop/progress` (its bar drawn into a null terminal, the batch loss ' +
          'read at most every 250 ms) and report the real `@tensorloop/report` (recording epochs, ' +
          'hyperparameters per step and messages; the page is written on demand, see progress-report.md). ') +
      'Epochs here are short (about ' +
      `${EPOCH_MS} ms), so per-epoch costs weigh more than in real training.`,
    '',
  );
  for (const [backend, run] of Object.entries(runs)) {
    out.push(`## ${BACKENDS[backend] ?? backend}`, '');
    if (run.error) {
      out.push(`Not measured: ${run.error}`, '');
      continue;
    }
    if (run.details?.patchedKernels?.length) {
      out.push(
        `Kernels added or replaced by @tensorloop/backend-wasm: ${run.details.patchedKernels.join(', ')}.`,
        '',
      );
    }
    for (const [key, wl] of Object.entries(run.workloads)) {
      out.push(`### ${wl.title} (\`${key}\`)`, '');
      if (wl.skipped) {
        out.push(`Skipped: ${wl.skipped}`, '');
        continue;
      }
      out.push(
        `${wl.params.toLocaleString('en-US')} parameters; ${sig(wl.flopsPerSample / 1e6)} MFLOP per sample per training step ` +
          `(3 × forward multiply-adds × 2). Timed epoch: ${wl.steps} step(s) of ${wl.batch}; ${wl.reps} rounds.` +
          (wl.slow
            ? ` A step takes over ${SLOW_STEP_MS} ms here, so only 4 variants ran, with 1 step per epoch and at most 3 rounds.`
            : ''),
        '',
      );
      const rows = Object.entries(wl.variants).map(([name, v]) => [
        `\`${name}\``,
        sig(v.median),
        `${Math.round(v.relIqr * 100)}%`,
        sig(v.stepsPerSec),
        sig(v.samplesPerSec),
        sig(v.gflops),
        ratioText(v.vsHandSlice),
        ratioText(v.vsHandGather),
        ratioText(v.vsFit),
        ratioText(v[OTHER]?.vsHandSlice),
      ]);
      out.push(
        mdTable(
          [
            'variant',
            `epoch ms (${CLOCK})`,
            'spread',
            'steps/s',
            'samples/s',
            'GFLOP/s',
            '÷ hand-slice',
            '÷ hand-gather',
            '÷ model.fit',
            `÷ hand-slice (${OTHER})`,
          ],
          rows,
          'lrrrrrrrrr',
        ),
        '',
      );
    }
  }
  if (studies) {
    out.push(`## How cost grows (${BACKENDS[studies.backend] ?? studies.backend})`, '');
    const g = studies.growth;
    out.push(`Epoch time vs dataset size — ${g.workload}:`, '');
    out.push(
      mdTable(
        ['samples', `epoch ms (${CLOCK})`, `epoch ms (${OTHER})`],
        g.sizes.map((n, i) => [n, sig(g.medianMs[i]), sig(g[OTHER].medianMs[i])]),
        'rrr',
      ),
      '',
      `Line (${CLOCK}): ${sig(g.msPer1000Samples)} ms per 1,000 samples + ${sig(g.interceptMs)} ms per fit; ` +
        `R² = ${g.r2.toFixed(4)}. (${OTHER}: ${sig(g[OTHER].msPer1000Samples)} ms per 1,000 samples + ` +
        `${sig(g[OTHER].interceptMs)} ms; R² = ${g[OTHER].r2.toFixed(4)}.)`,
      '',
    );
    const p = studies.plugins;
    out.push(`Hook cost vs plugin count — ${p.workload}:`, '');
    out.push(
      mdTable(
        ['plugins', `µs per step (${CLOCK})`, `µs per step (${OTHER})`],
        p.counts.map((c, i) => [c, sig(p.perStepUs[i]), sig(p[OTHER].perStepUs[i])]),
        'rrr',
      ),
      '',
      `Line (${CLOCK}): ${sig(p.usPerPluginPerStep)} µs per plugin per step + ${sig(p.interceptUs)} µs; ` +
        `R² = ${p.r2.toFixed(4)}. (${OTHER}: ${sig(p[OTHER].usPerPluginPerStep)} µs per plugin per step + ` +
        `${sig(p[OTHER].interceptUs)} µs; R² = ${p[OTHER].r2.toFixed(4)}.) A no-op hook costs one \`await\` per ` +
        'plugin per hook; the `trainer-noop100` rows above show what that is worth on a real step.',
      '',
    );
    out.push(`Tensor count — ${studies.tensors.workload}:`, '');
    out.push(
      mdTable(
        ['optimizer', 'before fit', 'step 200', 'step 2,000', 'after fit'],
        studies.tensors.runs.map((r) => [r.optimizer, r.beforeFit, r.atStep200, r.atStep2000, r.afterFit]),
        'lrrrr',
      ),
      '',
      'The run uses the standard set (every first-party plugin that exists), one no-op plugin, the ' +
        'accuracy metric and both a tfjs and the core Adam.',
      '',
    );
  }
  const notes = observations(runs);
  if (notes.length) out.push('## Observations', '', ...notes.map((n) => `- ${n}`), '');
  if (skipped.length) {
    out.push('## Not measured', '', ...skipped.map((s) => `- ${s}`), '');
  }
  out.push(`Command (from the repository root): \`${report.command}\`.`, '');
  out.push(`Machine: ${machineLine(report.machine)}`, '');
  out.push(`Date: ${report.date}.`);
  return out.join('\n');
}

async function parentMain() {
  const self = fileURLToPath(import.meta.url);
  const backends = (process.env.TL_BENCH_BACKENDS ?? Object.keys(BACKENDS).join(','))
    .split(',')
    .filter(Boolean);
  const runs = {};
  const skipped = [];
  for (const backend of backends) {
    if (backend === 'wasm+tl') {
      const missing = tensorloopWasmMissing();
      if (missing) {
        runs[backend] = { error: `skipped: ${missing}` };
        skipped.push(`${BACKENDS[backend]}: ${missing}.`);
        continue;
      }
    }
    log(`backend ${backend}`);
    const child = await runChild(self, [`--child=${backend}`, '--part=loop']);
    runs[backend] = child.data ?? { error: `child process exited with ${child.code}` };
    if (runs[backend].error) skipped.push(`${BACKENDS[backend] ?? backend}: ${runs[backend].error}`);
  }
  let studies;
  if (envInt('TL_BENCH_STUDIES', 1) !== 0) {
    const preferred = ['wasm+tl', 'wasm', 'cpu'].filter((b) => runs[b] && !runs[b].error);
    const backend = process.env.TL_BENCH_STUDY_BACKEND ?? preferred[0] ?? 'cpu';
    log(`studies on ${backend}`);
    const child = await runChild(self, [`--child=${backend}`, '--part=studies']);
    if (child.data && !child.data.error) studies = child.data;
    else
      skipped.push(`growth/plugin-count/tensor-count studies: ${child.data?.error ?? `exit ${child.code}`}`);
  }
  const firstMachine = Object.values(runs).find((r) => r.machine)?.machine ?? describeMachine('n/a');
  const report = {
    name: NAME,
    date: new Date().toISOString(),
    command: commandLine(),
    machine: { ...firstMachine, backend: Object.keys(runs).join(', ') },
    settings: {
      clock: CLOCK,
      reps: REPS,
      warmup: WARMUP,
      epochMs: EPOCH_MS,
      lr: LR,
      slowStepMs: SLOW_STEP_MS,
    },
    variants: VARIANTS,
    runs,
    studies,
    skipped,
  };
  report.targets = judgeTargets(runs, studies);
  const files = await writeResults(NAME, report, markdown(report));
  log(`wrote bench/results/${files.md} and ${files.json}`);
}

/** Re-render the markdown from the JSON written earlier (after a change to the tables' layout). */
async function renderOnly() {
  const { readFile } = await import('node:fs/promises');
  const { resultsDir } = await import('./lib/results.mjs');
  const path = await import('node:path');
  const report = JSON.parse(await readFile(path.join(resultsDir(), `${NAME}.json`), 'utf8'));
  report.targets = judgeTargets(report.runs, report.studies);
  await writeResults(NAME, report, markdown(report));
  log('re-rendered from the JSON');
}

const args = parseArgs();
if (args.child) await childMain(args);
else if (args.render) await renderOnly();
else await parentMain();
