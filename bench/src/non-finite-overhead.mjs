// What core's onNonFinite watch costs (issue 20, point 4): Trainer.fit with the default
// onNonFinite: 'stop' (the device check of the loss and every gradient, read with the epoch's logs)
// vs the same trainer with the check switched off, and onNonFinite: 'skip' (the check as a step
// gate: on cpu the gate is read on the host, one bool scalar per step). cpu backend, one process.
//
//   node bench/src/non-finite-overhead.mjs      (from the repository root, after a build)
//
// "off" is not a user option: the bench removes the watch from the trainer's step (an internal
// field, `stepDeps.nonFinite`) to have a baseline in the same run. Variants run interleaved (the
// order rotates each round), REPS rounds of one epoch after WARMUP epochs, each on its own copy of
// the same initial weights; ratios are medians of per-round paired ratios of process CPU time.
//
// Environment (optional): TL_BENCH_REPS=7  TL_BENCH_WARMUP=1  TL_BENCH_STEPS=60
//   TL_BENCH_BACKEND=cpu|wasm+tl (default cpu; wasm+tl writes non-finite-overhead-wasm-tl.md)
//   TL_BENCH_WORKLOADS=tiny-b8,mlp-b32 (also: mlp-b128)

import * as tf from '@tensorflow/tfjs';
import { Trainer } from '@tensorloop/core';
import { initBackend } from './lib/backends.mjs';
import { describeMachine, machineLine } from './lib/machine.mjs';
import { commandLine, envInt, mdTable, ratioText, sig, writeResults } from './lib/results.mjs';
import { interleave, median, pairedRatio } from './lib/stats.mjs';
import { buildModel, cloneModel, mnistTensors } from './lib/workloads.mjs';

const BACKEND = process.env.TL_BENCH_BACKEND ?? 'cpu';
const NAME = BACKEND === 'cpu' ? 'non-finite-overhead' : `non-finite-overhead-${BACKEND.replace('+', '-')}`;
const REPS = envInt('TL_BENCH_REPS', 7);
const WARMUP = envInt('TL_BENCH_WARMUP', 1);
const STEPS = envInt('TL_BENCH_STEPS', 60);
const log = (msg) => process.stderr.write(`[${NAME}] ${msg}\n`);

const WORKLOADS = {
  'tiny-b8': { title: 'MLP 784-16-10, batch 8 (dispatch-bound: the worst case)', hidden: [16], batch: 8 },
  'mlp-b32': { title: 'MLP 784-256-128-10, batch 32', hidden: [256, 128], batch: 32 },
  'mlp-b128': { title: 'MLP 784-256-128-10, batch 128', hidden: [256, 128], batch: 128 },
};
const SELECTED = (process.env.TL_BENCH_WORKLOADS ?? 'tiny-b8,mlp-b32').split(',');

const VARIANTS = {
  off: { what: 'no check (the watch removed from the step: the baseline)', option: undefined, off: true },
  stop: {
    what: "onNonFinite: 'stop' (default): checked on the device, read with the epoch's logs",
    option: 'stop',
  },
  skip: {
    what: "onNonFinite: 'skip': the check gates the step (host gate on cpu: one scalar read per step)",
    option: 'skip',
  },
};

async function main() {
  await initBackend(BACKEND);
  const workloads = {};
  for (const key of SELECTED) {
    const wl = WORKLOADS[key];
    if (!wl) throw new Error(`unknown workload ${key}; known: ${Object.keys(WORKLOADS).join(', ')}`);
    const template = buildModel('mlp', { hidden: wl.hidden });
    const { x, y } = mnistTensors(STEPS * wl.batch, 'mlp');
    const runs = Object.entries(VARIANTS).map(([name, v]) => {
      const trainer = new Trainer({
        model: cloneModel(template, 'mlp', { hidden: wl.hidden }),
        loss: 'categoricalCrossentropy',
        optimizer: tf.train.adam(1e-3),
        log: 'silent',
        ...(v.option ? { onNonFinite: v.option } : {}),
      });
      if (v.off) delete trainer.stepDeps.nonFinite;
      const fit = { epochs: 1, batchSize: wl.batch, shuffle: false, checkData: false };
      return {
        name,
        run: async () => {
          const start = performance.now();
          const { history } = await trainer.fit({ x, y }, fit);
          if (!Number.isFinite(history[0].logs.loss)) throw new Error('loss is not finite');
          return performance.now() - start;
        },
      };
    });
    const { cpu, wall } = await interleave(runs, { reps: REPS, warmup: WARMUP, label: key, log });
    workloads[key] = {
      title: wl.title,
      steps: STEPS,
      variants: Object.fromEntries(
        Object.keys(VARIANTS).map((name) => [
          name,
          {
            cpuMsPerStep: median(cpu[name]) / STEPS,
            vsOff: pairedRatio(cpu[name], cpu.off),
            wallVsOff: pairedRatio(wall[name], wall.off),
            cpu: cpu[name],
            wall: wall[name],
          },
        ]),
      ),
    };
    tf.dispose([x, y]);
  }
  const machine = describeMachine(BACKEND);
  const data = {
    name: NAME,
    date: new Date().toISOString(),
    command: commandLine(),
    machine,
    reps: REPS,
    workloads,
  };
  const rows = [];
  for (const w of Object.values(workloads)) {
    for (const [name, v] of Object.entries(w.variants)) {
      rows.push([
        w.title,
        `${name}: ${VARIANTS[name].what}`,
        sig(v.cpuMsPerStep),
        ratioText(v.vsOff),
        ratioText(v.wallVsOff),
      ]);
    }
  }
  const md = [
    `# ${NAME}`,
    '',
    "What core's `onNonFinite` check costs per step (issue 20). Time ratios against the same trainer with the check removed: > 1 is slower.",
    '',
    mdTable(['workload', 'variant', 'CPU ms/step', 'CPU vs off', 'wall vs off'], rows),
    '',
    `Machine: ${machineLine(machine)} ${REPS} interleaved rounds of one ${STEPS}-step epoch after ${WARMUP} warm-up epoch(s); medians of paired ratios.`,
    '',
    `Command: \`${data.command}\` (${data.date})`,
  ].join('\n');
  const files = await writeResults(NAME, data, md);
  log(`wrote ${files.json} and ${files.md}`);
  process.stdout.write(`${md}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
