// What @tensorloop/amp costs (issue 13): Trainer.fit without amp vs with amp({ precision: 'float32' })
// (loss scaling, the overflow check and the gated step; target < 10% slower), with the step gate read
// on the host (the default on cpu and wasm: one dataSync of a bool scalar per step) and gated on the
// device (no read-back per step), and, for information, amp({ precision: 'float16' }) (rounding
// emulated with about 17 extra element-wise ops per rounded tensor: it is slower by design).
//
//   node bench/src/amp-overhead.mjs            (from the repository root, after a build)
//   node bench/src/amp-overhead.mjs --render   (re-render amp-overhead.md from its JSON)
//
// One child process per backend (cpu, plain wasm). Inside a child every variant trains its own copy
// of the same initial weights with its own tf.train.adam(1e-3), on the same MNIST digits; variants
// run interleaved (the order rotates each round), REPS rounds of one epoch after WARMUP epochs. Ratios
// are medians of per-round paired ratios. Host reads of tensors (data, dataSync, array, arraySync,
// bytes) are counted with spies over one more epoch per variant.
//
// Environment (all optional): TL_BENCH_REPS=5  TL_BENCH_WARMUP=1  TL_BENCH_EPOCH_MS=800
//   TL_BENCH_BACKENDS=cpu,wasm  TL_BENCH_WORKLOADS=mlp-b32,mlp-b128  TL_BENCH_CLOCK=cpu|wall

import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { amp } from '@tensorloop/amp';
import { Trainer } from '@tensorloop/core';
import { BACKENDS, errorText, initBackend } from './lib/backends.mjs';
import { parseArgs, runChild } from './lib/child.mjs';
import { describeMachine, machineLine } from './lib/machine.mjs';
import { commandLine, envInt, mdTable, ratioText, resultsDir, sig, writeResults } from './lib/results.mjs';
import { interleave, median, pairedRatio, summarize } from './lib/stats.mjs';
import { buildModel, cloneModel, mnistTensors, WORKLOADS } from './lib/workloads.mjs';

const NAME = 'amp-overhead';
const REPS = envInt('TL_BENCH_REPS', 5);
const WARMUP = envInt('TL_BENCH_WARMUP', 1);
const EPOCH_MS = envInt('TL_BENCH_EPOCH_MS', 800);
const CLOCK = process.env.TL_BENCH_CLOCK === 'wall' ? 'wall' : 'cpu';
const OTHER = CLOCK === 'wall' ? 'cpu' : 'wall';
const TARGET = 1.1;
const log = (msg) => process.stderr.write(`[${NAME}] ${msg}\n`);

const VARIANTS = {
  none: { what: 'Trainer.fit, no plugins', plugins: () => [], stepGate: 'auto' },
  'amp-f32': {
    what: "amp() (float32, dynamic loss scaling), stepGate 'auto' = host on cpu/wasm: one scalar read per step",
    plugins: () => [amp()],
    stepGate: 'auto',
  },
  'amp-f32-device': {
    what: "amp() (float32), stepGate: 'device': the update through where(finite, new, old), no read per step",
    plugins: () => [amp()],
    stepGate: 'device',
  },
  'amp-f16': {
    what: "amp({ precision: 'float16' }): rounding emulated on the forward and backward pass (information)",
    plugins: () => [amp({ precision: 'float16' })],
    stepGate: 'auto',
  },
};

function trainerRun({ template, x, y, batch }, variant) {
  const trainer = new Trainer({
    model: cloneModel(template, 'mlp'),
    loss: 'categoricalCrossentropy',
    optimizer: tf.train.adam(1e-3),
    plugins: variant.plugins(),
    stepGate: variant.stepGate,
    log: 'silent',
  });
  const fit = { epochs: 1, batchSize: batch, shuffle: false, checkData: false };
  return {
    trainer,
    run: async () => {
      const start = performance.now();
      const { history } = await trainer.fit({ x, y }, fit);
      if (!Number.isFinite(history[0].logs.loss)) throw new Error('loss is not finite');
      return performance.now() - start;
    },
    fit: () => trainer.fit({ x, y }, fit),
  };
}

/**
 * Host reads of tensors during one epoch of `fit`: how many, the wall time spent inside them (the
 * synchronous ones; an async `data()` is timed until it settles) and the epoch's wall time.
 */
async function readsPerEpoch(fit) {
  const methods = ['data', 'dataSync', 'array', 'arraySync', 'bytes'];
  const originals = methods.map((m) => tf.Tensor.prototype[m]);
  let count = 0;
  let ms = 0;
  let syncMs = 0;
  methods.forEach((m, i) => {
    tf.Tensor.prototype[m] = function counted(...args) {
      count += 1;
      const start = performance.now();
      const out = originals[i].apply(this, args);
      if (out instanceof Promise) {
        return out.finally(() => {
          ms += performance.now() - start;
        });
      }
      const spent = performance.now() - start;
      ms += spent;
      syncMs += spent;
      return out;
    };
  });
  const start = performance.now();
  try {
    await fit();
  } finally {
    methods.forEach((m, i) => {
      tf.Tensor.prototype[m] = originals[i];
    });
  }
  return { count, ms, syncMs, epochMs: performance.now() - start };
}

async function measureWorkload(key) {
  const wl = WORKLOADS[key];
  const template = buildModel('mlp');
  // Size the epoch from a short run without amp.
  const probe = mnistTensors(wl.batch * 3, 'mlp');
  const calib = trainerRun({ template, x: probe.x, y: probe.y, batch: wl.batch }, VARIANTS.none);
  await calib.run();
  const stepMs = (await calib.run()) / 3;
  tf.dispose([probe.x, probe.y]);
  const steps = Math.max(3, Math.round(EPOCH_MS / stepMs));
  log(`${tf.getBackend()} ${key}: ~${sig(stepMs)} ms/step → ${steps} steps per epoch, ${REPS} rounds`);
  const data = mnistTensors(steps * wl.batch, 'mlp');
  const base = { template, x: data.x, y: data.y, batch: wl.batch };
  const runs = Object.entries(VARIANTS).map(([name, v]) => ({ name, ...trainerRun(base, v) }));
  try {
    const clocks = await interleave(runs, {
      reps: REPS,
      warmup: WARMUP,
      label: `${tf.getBackend()} ${key}`,
      log,
    });
    const times = clocks[CLOCK];
    const other = clocks[OTHER];
    const variants = {};
    for (const r of runs) {
      const s = summarize(times[r.name]);
      variants[r.name] = {
        ...s,
        msPerStep: s.median / steps,
        vsNone: pairedRatio(times[r.name], times.none), // time ratio: > 1 is slower
        [OTHER]: { median: median(other[r.name]), vsNone: pairedRatio(other[r.name], other.none) },
        ...(await readsPerEpoch(r.fit).then((r) => ({
          readsPerEpoch: r.count,
          readMs: r.ms,
          syncReadMs: r.syncMs,
          spiedEpochMs: r.epochMs,
        }))),
      };
    }
    variants['amp-f32'].vsDevice = pairedRatio(times['amp-f32'], times['amp-f32-device']);
    return { title: wl.title, batch: wl.batch, steps, reps: REPS, warmup: WARMUP, variants };
  } finally {
    tf.dispose([data.x, data.y]);
    template.dispose();
  }
}

async function child(args) {
  const backend = args.backend;
  await initBackend(backend);
  const machine = describeMachine(backend);
  const keys = (process.env.TL_BENCH_WORKLOADS ?? 'mlp-b32,mlp-b128').split(',');
  const workloads = {};
  for (const key of keys) {
    if (!WORKLOADS[key] || WORKLOADS[key].model !== 'mlp')
      throw new Error(`unknown or non-MLP workload ${key}`);
    try {
      workloads[key] = await measureWorkload(key);
    } catch (error) {
      log(`${backend} ${key}: failed: ${errorText(error)}`);
      workloads[key] = { title: WORKLOADS[key].title, skipped: `failed: ${errorText(error)}` };
    }
  }
  writeFileSync(args.out, JSON.stringify({ backend, machine, workloads }));
}

function render(result) {
  const lines = [
    '# amp overhead: Trainer.fit with and without @tensorloop/amp',
    '',
    "Issue 13: `amp({ precision: 'float32' })` must cost < 10% over no amp, with no hidden sync per step. " +
      'Variants run interleaved in one process per backend (same initial weights, same MNIST digits, ' +
      `a fresh \`tf.train.adam(1e-3)\` each), ${result.reps} rounds after ${result.warmup} warm-up epoch(s); ` +
      `times are process ${CLOCK.toUpperCase()} time per epoch (medians), ratios are medians of per-round paired ratios ` +
      '(time ratios: above 1 is slower). Read-backs are host reads of any tensor (`data`, `dataSync`, `array`, ' +
      '`arraySync`, `bytes`) counted with spies over one more epoch.',
    '',
  ];
  const targets = [];
  for (const [backend, part] of Object.entries(result.backends)) {
    lines.push(`## ${BACKENDS[backend] ?? backend}`, '');
    if (part.skipped) {
      lines.push(`Skipped: ${part.skipped}`, '');
      continue;
    }
    for (const [key, wl] of Object.entries(part.workloads)) {
      lines.push(`### ${wl.title} (\`${key}\`)`, '');
      if (wl.skipped) {
        lines.push(`Skipped: ${wl.skipped}`, '');
        continue;
      }
      lines.push(`Timed epoch: ${wl.steps} steps of ${wl.batch}.`, '');
      const rows = Object.entries(wl.variants).map(([name, v]) => [
        `\`${name}\``,
        sig(v.median),
        `${Math.round(v.relIqr * 100)}%`,
        sig(v.msPerStep),
        ratioText(v.vsNone),
        ratioText(v[OTHER].vsNone),
        v.readsPerEpoch,
      ]);
      lines.push(
        mdTable(
          [
            'variant',
            `epoch ms (${CLOCK})`,
            'spread',
            'ms/step',
            '÷ none',
            `÷ none (${OTHER})`,
            'read-backs per epoch',
          ],
          rows,
          'lrrrrrr',
        ),
        '',
      );
      const host = wl.variants['amp-f32'];
      const device = wl.variants['amp-f32-device'];
      lines.push(
        `Host gating reads ${host.readsPerEpoch - wl.variants.none.readsPerEpoch} more scalars per epoch of ` +
          `${wl.steps} steps (one per step), device gating ${device.readsPerEpoch - wl.variants.none.readsPerEpoch}. ` +
          `Time inside those reads (the synchronous \`dataSync\` of the gate; the epoch logs are read with \`data()\` by every variant): ` +
          `${sig(host.syncReadMs)} ms of a ${sig(host.spiedEpochMs)} ms epoch ` +
          `(${sig((100 * host.syncReadMs) / host.spiedEpochMs)}%, wall clock). ` +
          `Host ÷ device gating: ${ratioText(host.vsDevice)}.`,
        '',
      );
      targets.push([
        `\`amp-f32\` (the default: host gating on cpu/wasm) < ${TARGET}× no amp`,
        `${backend}, ${key}`,
        ratioText(host.vsNone),
        host.vsNone < TARGET ? '**met**' : '**not met**',
      ]);
      targets.push([
        '`amp-f32-device` (device gating, the WebGL/WebGPU default; information here)',
        `${backend}, ${key}`,
        ratioText(device.vsNone),
        '—',
      ]);
    }
  }
  lines.splice(4, 0, mdTable(['target', 'where', 'measured', 'status'], targets), '');
  lines.push(
    '## Variants',
    '',
    mdTable(
      ['variant', 'what'],
      Object.entries(VARIANTS).map(([n, v]) => [`\`${n}\``, v.what]),
    ),
    '',
    'Device gating applies the update through `where(gate, new, old)` for every weight and optimizer slot, ' +
      'with the gate broadcast to each weight shape: a few element-wise passes over all the state, which ' +
      "cost on cpu and wasm (per element, like the optimizer itself) and are why `stepGate: 'auto'` reads the " +
      'gate on the host there; on WebGL and WebGPU, where a read-back stalls the pipeline, they are shader ' +
      'passes and the read is what costs.',
    '',
    'amp never makes training faster on cpu or wasm: tfjs has no float16 dtype there, so `float16` only ' +
      'emulates its numerics, at a cost. See `packages/amp/README.md`.',
    '',
    `Command (from the repository root): \`${result.command}\`.`,
    '',
    `Machine: ${machineLine(result.machine)}`,
    '',
    `Date: ${result.date}.`,
  );
  return lines.join('\n');
}

async function parent() {
  const backends = (process.env.TL_BENCH_BACKENDS ?? 'cpu,wasm').split(',');
  const script = fileURLToPath(import.meta.url);
  const parts = {};
  let machine;
  for (const backend of backends) {
    if (!BACKENDS[backend]) throw new Error(`unknown backend ${backend}`);
    const { ok, data, code } = await runChild(script, ['--child', `--backend=${backend}`]);
    if (!ok) {
      parts[backend] = { skipped: `the ${backend} child exited with ${code}` };
      continue;
    }
    machine ??= data.machine;
    parts[backend] = { workloads: data.workloads };
  }
  const result = {
    benchmark: NAME,
    date: new Date().toISOString(),
    command: commandLine(),
    machine: { ...(machine ?? describeMachine()), backend: backends.join(', ') },
    clock: CLOCK,
    reps: REPS,
    warmup: WARMUP,
    target: `amp float32 < ${TARGET}× no amp`,
    backends: parts,
  };
  const md = render(result);
  await writeResults(NAME, result, md);
  console.log(md);
}

async function rerender() {
  const json = JSON.parse(await readFile(path.join(resultsDir(), `${NAME}.json`), 'utf8'));
  const md = render(json);
  await writeResults(NAME, json, md);
  console.log(md);
}

const args = parseArgs();
if (args.child) await child(args);
else if (args.render) await rerender();
else await parent();
