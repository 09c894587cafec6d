// Core `adam({ lr: 1e-3 })` from @tensorloop/core against `tf.train.adam(1e-3)` (issue 3's last
// acceptance point: core adam step time within 10% of tf.train.adam on the MLP of issue 8).
//
//   node bench/src/optimizer-adam.mjs        (from the repository root, after `pnpm build`)
//
// MLP 784-256-128-10, batch 128, real MNIST digits. One child process per backend. Two comparisons,
// each with its variants interleaved (rotating order) over REPS rounds after WARMUP:
//   - direct: optimizer.applyGradients on the same fixed gradients, K updates per round;
//   - Trainer: Trainer.fit (shuffle: false, checkData: false) of one epoch with each optimizer.
// Then a profile of one update of each optimizer (tf.profile: kernels, tensors created, kernel
// time), so a gap can be attributed.
//
// Environment (all optional): TL_BENCH_REPS=7  TL_BENCH_WARMUP=1  TL_BENCH_EPOCH_MS=1000
//   TL_BENCH_BACKENDS=cpu,wasm,wasm+tl  TL_BENCH_CLOCK=cpu|wall  TL_BENCH_RESULTS=<dir>
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { adam, Trainer } from '@tensorloop/core';
import { BACKENDS, errorText, initBackend, tensorloopWasmMissing } from './lib/backends.mjs';
import { parseArgs, runChild } from './lib/child.mjs';
import { describeMachine, machineLine } from './lib/machine.mjs';
import { commandLine, envInt, mdTable, ratioText, sig, writeResults } from './lib/results.mjs';
import { interleave, median, pairedRatio, summarize } from './lib/stats.mjs';
import { buildModel, cloneModel, mnistTensors } from './lib/workloads.mjs';

const NAME = 'optimizer-adam';
const REPS = envInt('TL_BENCH_REPS', 7);
const WARMUP = envInt('TL_BENCH_WARMUP', 1);
const EPOCH_MS = envInt('TL_BENCH_EPOCH_MS', 1000);
const CLOCK = process.env.TL_BENCH_CLOCK === 'wall' ? 'wall' : 'cpu';
const OTHER = CLOCK === 'wall' ? 'cpu' : 'wall';
const LR = 1e-3;
const BATCH = 128;
const TARGET = 1.1;
const log = (msg) => process.stderr.write(`[${NAME}] ${msg}\n`);

/** The model's trainable weights as the Trainer names them ({ name: originalName, variable }). */
function namedVariables(model) {
  return model.trainableWeights.map((w) => ({ name: w.originalName, variable: w.read() }));
}

/** Gradients of one real batch, kept (the caller disposes), in trainable-weight order. */
function fixedGradients(model, x, y) {
  const vars = namedVariables(model).map((v) => v.variable);
  const { value, grads } = tf.variableGrads(
    () => tf.mean(tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }))),
    vars,
  );
  value.dispose();
  return vars.map((v) => grads[v.name]);
}

/** `updates()` calls per round of `applyGradients` with the same gradients. */
function directTfjs(model, grads) {
  const optimizer = tf.train.adam(LR);
  const list = namedVariables(model).map((v, i) => ({ name: v.variable.name, tensor: grads[i] }));
  return {
    optimizer,
    update: () => tf.tidy(() => optimizer.applyGradients(list)),
  };
}

function directCore(model, grads) {
  const optimizer = adam({ lr: LR });
  const named = namedVariables(model);
  optimizer.bind(named);
  const map = new Map(named.map((v, i) => [v.name, grads[i]]));
  return {
    optimizer,
    update: () => tf.tidy(() => optimizer.applyGradients(map)),
  };
}

function timedUpdates(update, count, probe) {
  return async () => {
    const start = performance.now();
    for (let i = 0; i < count; i++) update();
    await probe.data();
    return performance.now() - start;
  };
}

function trainerRun(model, optimizer, data) {
  const trainer = new Trainer({ model, loss: 'categoricalCrossentropy', optimizer, log: 'silent' });
  return async () => {
    const start = performance.now();
    await trainer.fit(data, { epochs: 1, batchSize: BATCH, shuffle: false, checkData: false });
    return performance.now() - start;
  };
}

/** Kernels and tensors of one update, and how much of its time the kernels account for. */
async function profileUpdate(update) {
  update();
  const t0 = performance.now();
  const info = await tf.profile(() => {
    update();
  });
  const wallMs = performance.now() - t0;
  const byKernel = {};
  let kernelMs = 0;
  for (const k of info.kernels) {
    byKernel[k.name] = (byKernel[k.name] ?? 0) + 1;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : (await k.kernelTimeMs)?.kernelMs;
    kernelMs += Number(ms) || 0;
  }
  return {
    kernels: info.kernels.length,
    newTensors: info.newTensors,
    byKernel,
    kernelMs,
    profiledWallMs: wallMs,
  };
}

/** Time of `count` updates on variables of one element each: the per-op cost without arithmetic. */
async function dispatchOnly(kind, count) {
  const shapeModel = buildModel('mlp');
  const tiny = namedVariables(shapeModel).map((v, i) => ({
    name: v.name,
    variable: tf.variable(tf.zeros([1]), true, `bench_tiny_${kind}_${i}`),
  }));
  shapeModel.dispose();
  const grads = tiny.map(() => tf.ones([1]));
  let update;
  if (kind === 'tfjs') {
    const opt = tf.train.adam(LR);
    const list = tiny.map((v, i) => ({ name: v.variable.name, tensor: grads[i] }));
    update = () => tf.tidy(() => opt.applyGradients(list));
  } else {
    const opt = adam({ lr: LR });
    opt.bind(tiny);
    const map = new Map(tiny.map((v, i) => [v.name, grads[i]]));
    update = () => tf.tidy(() => opt.applyGradients(map));
  }
  for (let i = 0; i < 20; i++) update();
  const start = performance.now();
  for (let i = 0; i < count; i++) update();
  const us = ((performance.now() - start) / count) * 1000;
  tf.dispose([...grads, ...tiny.map((v) => v.variable)]);
  return us;
}

async function childMain(args) {
  const backend = args.child;
  let out;
  try {
    const details = await initBackend(backend);
    const machine = describeMachine(tf.getBackend());
    const template = buildModel('mlp');
    const probeData = mnistTensors(BATCH, 'mlp');

    // Direct: same gradients, each optimizer on its own copy of the weights.
    const gradModel = cloneModel(template, 'mlp');
    const grads = fixedGradients(gradModel, probeData.x, probeData.y);
    const tfjsModel = cloneModel(template, 'mlp');
    const coreModel = cloneModel(template, 'mlp');
    const direct = { tfjs: directTfjs(tfjsModel, grads), core: directCore(coreModel, grads) };
    direct.tfjs.update();
    direct.core.update();
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) direct.tfjs.update();
    const updateMs = (performance.now() - t0) / 5;
    const updates = Math.max(5, Math.round(EPOCH_MS / 2 / updateMs));
    log(`${backend}: ~${sig(updateMs)} ms per tf.train.adam update → ${updates} updates per round`);
    const probe = namedVariables(tfjsModel)[0].variable;
    const directClocks = await interleave(
      [
        { name: 'tf.train.adam', run: timedUpdates(direct.tfjs.update, updates, probe) },
        { name: 'core adam', run: timedUpdates(direct.core.update, updates, probe) },
      ],
      { reps: REPS, warmup: WARMUP, label: `${backend} direct`, log },
    );

    // Through the Trainer.
    const stepMs = updateMs * 4; // a step is forward + backward + update; a rough first guess
    const steps = Math.max(2, Math.round(EPOCH_MS / stepMs));
    const data = mnistTensors(steps * BATCH, 'mlp');
    const trainerClocks = await interleave(
      [
        { name: 'tf.train.adam', run: trainerRun(cloneModel(template, 'mlp'), tf.train.adam(LR), data) },
        { name: 'core adam', run: trainerRun(cloneModel(template, 'mlp'), adam({ lr: LR }), data) },
      ],
      { reps: REPS, warmup: WARMUP, label: `${backend} trainer`, log },
    );

    const summarizePair = (clocks, perUnit) => {
      const t = clocks[CLOCK];
      const o = clocks[OTHER];
      const row = (name) => ({
        ...summarize(t[name].map((ms) => ms / perUnit)),
        [OTHER]: median(o[name].map((ms) => ms / perUnit)),
      });
      return {
        count: perUnit,
        'tf.train.adam': row('tf.train.adam'),
        'core adam': row('core adam'),
        // Time ratio core / tfjs (> 1: core is slower); median over paired rounds.
        timeRatio: pairedRatio(t['core adam'], t['tf.train.adam']),
        [`timeRatio_${OTHER}`]: pairedRatio(o['core adam'], o['tf.train.adam']),
      };
    };

    const profile = {
      'tf.train.adam': await profileUpdate(direct.tfjs.update),
      'core adam': await profileUpdate(direct.core.update),
    };
    const dispatch = {
      'tf.train.adam': await dispatchOnly('tfjs', 200),
      'core adam': await dispatchOnly('core', 200),
    };
    out = {
      backend,
      details,
      machine,
      direct: summarizePair(directClocks, updates),
      trainer: summarizePair(trainerClocks, steps),
      profile,
      dispatchOnlyUs: dispatch,
    };
    tf.dispose([...grads, probeData.x, probeData.y, data.x, data.y]);
  } catch (error) {
    log(`${backend}: ${errorText(error)}`);
    out = { backend, error: errorText(error) };
  }
  writeFileSync(args.out, JSON.stringify(out));
}

function verdict(ratio) {
  if (ratio === undefined || Number.isNaN(ratio)) return 'not measured';
  return ratio <= TARGET ? '**met**' : '**not met**';
}

function kernelDiff(profile) {
  const a = profile['tf.train.adam'].byKernel;
  const b = profile['core adam'].byKernel;
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return names.map((n) => [n, a[n] ?? 0, b[n] ?? 0]);
}

function markdown(report) {
  const out = ['# Core `adam` vs `tf.train.adam`', ''];
  out.push(
    'MLP 784-256-128-10 (235,146 parameters, 6 variables), batch 128, MNIST digits. Step time of ' +
      '`adam({ lr: 1e-3 })` from @tensorloop/core against `tf.train.adam(1e-3)`: (1) **direct**, ' +
      '`applyGradients` with the same fixed gradients, each optimizer updating its own copy of the ' +
      'same initial weights; (2) **through the Trainer**, a full step (forward, backward, update) in ' +
      '`Trainer.fit` (`shuffle: false`, `checkData: false`). Variants interleaved (rotating order), ' +
      `${REPS} rounds after ${WARMUP} warm-up round(s); medians; the ratio is the median over rounds ` +
      `of core time ÷ tfjs time (paired by round). Times are ${CLOCK === 'cpu' ? 'process CPU time (the machine is shared; wall-time ratios are given too)' : 'wall time'}.`,
    '',
    `Target (issue 3): core adam step time within 10% of tf.train.adam (ratio ≤ ${TARGET}).`,
    '',
  );
  const rows = [];
  for (const [backend, r] of Object.entries(report.runs)) {
    if (r.error) {
      rows.push([BACKENDS[backend] ?? backend, '—', '—', '—', '—', `not measured: ${r.error}`]);
      continue;
    }
    for (const what of ['direct', 'trainer']) {
      const d = r[what];
      rows.push([
        `${BACKENDS[backend] ?? backend}, ${what === 'direct' ? 'direct applyGradients' : 'Trainer step'}`,
        sig(d['tf.train.adam'].median),
        sig(d['core adam'].median),
        ratioText(d.timeRatio),
        ratioText(d[`timeRatio_${OTHER}`]),
        verdict(d.timeRatio),
      ]);
    }
  }
  out.push(
    mdTable(
      [
        'backend, measurement',
        'tf.train.adam ms',
        'core adam ms',
        `core ÷ tfjs (${CLOCK})`,
        `core ÷ tfjs (${OTHER})`,
        'target',
      ],
      rows,
      'lrrrrl',
    ),
    '',
  );
  out.push('## Where the time goes (one update, `tf.profile`)', '');
  for (const [backend, r] of Object.entries(report.runs)) {
    if (r.error) continue;
    const p = r.profile;
    out.push(`### ${BACKENDS[backend] ?? backend}`, '');
    out.push(
      mdTable(
        ['', 'tf.train.adam', 'core adam'],
        [
          ['kernels per update', p['tf.train.adam'].kernels, p['core adam'].kernels],
          [
            'net new tensors after one update (leak check)',
            p['tf.train.adam'].newTensors,
            p['core adam'].newTensors,
          ],
          ['kernel time ms (sum)', sig(p['tf.train.adam'].kernelMs), sig(p['core adam'].kernelMs)],
          [
            'per update on 1-element variables, µs (dispatch cost)',
            sig(r.dispatchOnlyUs['tf.train.adam']),
            sig(r.dispatchOnlyUs['core adam']),
          ],
        ],
        'lrr',
      ),
      '',
      'Kernels per update, by name:',
      '',
      mdTable(['kernel', 'tf.train.adam', 'core adam'], kernelDiff(p), 'lrr'),
      '',
    );
  }
  if (report.analysis) out.push('## Analysis', '', report.analysis, '');
  out.push(`Command (from the repository root): \`${report.command}\`.`, '');
  out.push(`Machine: ${machineLine(report.machine)}`, '');
  out.push(`Date: ${report.date}.`);
  return out.join('\n');
}

/** A short, factual reading of the numbers, for the core engineer. */
function analyse(runs) {
  const lines = [];
  for (const [backend, r] of Object.entries(runs)) {
    if (r.error) continue;
    const p = r.profile;
    const t = p['tf.train.adam'];
    const c = p['core adam'];
    lines.push(
      `- ${BACKENDS[backend] ?? backend}: direct update ${ratioText(r.direct.timeRatio)} the time of tf.train.adam ` +
        `(${sig(r.direct['core adam'].median)} vs ${sig(r.direct['tf.train.adam'].median)} ms), Trainer step ` +
        `${ratioText(r.trainer.timeRatio)}. Core runs ${c.kernels} kernels per ` +
        `update (tfjs: ${t.kernels}), net new tensors ${c.newTensors} (tfjs: ${t.newTensors}); kernel time ${sig(c.kernelMs)} vs ${sig(t.kernelMs)} ms; ` +
        `on 1-element variables (pure dispatch) ${sig(r.dispatchOnlyUs['core adam'])} vs ` +
        `${sig(r.dispatchOnlyUs['tf.train.adam'])} µs per update.`,
    );
  }
  return lines.join('\n');
}

async function parentMain() {
  const self = fileURLToPath(import.meta.url);
  const backends = (process.env.TL_BENCH_BACKENDS ?? Object.keys(BACKENDS).join(',')).split(',');
  const runs = {};
  for (const backend of backends) {
    const missing = backend === 'wasm+tl' ? tensorloopWasmMissing() : undefined;
    if (missing) {
      runs[backend] = { error: `skipped: ${missing}` };
      continue;
    }
    log(`backend ${backend}`);
    const child = await runChild(self, [`--child=${backend}`]);
    runs[backend] = child.data ?? { error: `child process exited with ${child.code}` };
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
      batch: BATCH,
      target: TARGET,
    },
    runs,
  };
  report.targets = Object.entries(runs).flatMap(([backend, r]) =>
    r.error
      ? []
      : ['direct', 'trainer'].map((what) => ({
          backend,
          what,
          ratio: r[what].timeRatio,
          met: r[what].timeRatio <= TARGET,
        })),
  );
  report.analysis = analyse(runs);
  const files = await writeResults(NAME, report, markdown(report));
  log(`wrote bench/results/${files.md} and ${files.json}`);
}

const args = parseArgs();
if (args.child) await childMain(args);
else await parentMain();
