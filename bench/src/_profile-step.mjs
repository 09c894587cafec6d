// Kernel-time profile of one Trainer-like training step on wasm + @tensorloop/backend-wasm
// (not part of run-all: files starting with _ are skipped). Usage:
//   node bench/src/_profile-step.mjs [mlp|cnn] [--cpu]
// `tf.profile` times kernels by wall clock, which on a loaded machine mostly measures waiting for a
// core; `--cpu` instead wraps every wasm kernel with process CPU time (outermost kernel only, so a
// kernel built from others counts once) and names matMuls by their operand shapes.
import * as tf from '@tensorflow/tfjs';
import { adam } from '@tensorloop/core';
import { initBackend } from './lib/backends.mjs';
import { buildModel, mnistTensors } from './lib/workloads.mjs';

const kind = process.argv[2] ?? 'mlp';
const batch = kind === 'mlp' ? 128 : 64;
await initBackend(process.env.TL_PROFILE_BACKEND ?? 'wasm+tl');
const { x, y } = mnistTensors(kind === 'mlp' ? 60000 : 10000, kind);
const model = buildModel(kind);
const opt = adam({ lr: 1e-3 });
const vars = model.trainableWeights.map((w) => ({ name: w.originalName, variable: w.read() }));
opt.bind(vars);
const order = tf.tensor1d(
  Int32Array.from({ length: x.shape[0] }, (_, i) => (i * 7919) % x.shape[0]),
  'int32',
);
let b = 0;
function step() {
  tf.tidy(() => {
    const idx = tf.slice(order, [(b++ * batch) % (x.shape[0] - batch)], [batch]);
    const xb = tf.gather(x, idx);
    const yb = tf.gather(y, idx);
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(yb, model.apply(xb, { training: true })).mean(),
      vars.map((v) => v.variable),
    );
    opt.applyGradients(new Map(vars.map((v) => [v.name, grads[v.variable.name]])));
    return value;
  });
}
for (let i = 0; i < 30; i++) step();
const t0 = process.cpuUsage();
const w0 = performance.now();
const n = kind === 'mlp' ? 200 : 60;
for (let i = 0; i < n; i++) step();
const cpu = process.cpuUsage(t0);
console.log(
  `${kind}: ${((cpu.user + cpu.system) / 1000 / n).toFixed(2)} ms cpu/step, ${((performance.now() - w0) / n).toFixed(2)} ms wall/step`,
);
const totals = new Map();
const reps = process.argv.includes('--cpu') ? 40 : 10;
if (process.argv.includes('--cpu')) {
  let depth = 0;
  for (const config of tf.getKernelsForBackend('wasm')) {
    const run = config.kernelFunc;
    config.kernelFunc = (args) => {
      if (depth++ > 0) {
        try {
          return run(args);
        } finally {
          depth--;
        }
      }
      const t = process.cpuUsage();
      try {
        return run(args);
      } finally {
        depth--;
        const c = process.cpuUsage(t);
        const { a, b } = args.inputs;
        const key = /MatMul/.test(config.kernelName)
          ? `${config.kernelName} ${a.shape}${args.attrs.transposeA ? 'ᵀ' : ''}·${b.shape}${args.attrs.transposeB ? 'ᵀ' : ''}`
          : config.kernelName;
        totals.set(key, (totals.get(key) ?? 0) + (c.user + c.system) / 1000);
      }
    };
  }
  for (let r = 0; r < reps; r++) step();
} else {
  for (let r = 0; r < reps; r++) {
    const p = await tf.profile(step);
    for (const k of p.kernels) totals.set(k.name, (totals.get(k.name) ?? 0) + k.kernelTimeMs);
  }
}
const rows = [...totals].sort((a, b) => b[1] - a[1]);
const sum = rows.reduce((a, [, t]) => a + t, 0);
for (const [name, t] of rows.slice(0, 18))
  console.log(`${name.padEnd(28)} ${(t / reps).toFixed(3)} ms  ${((100 * t) / sum).toFixed(1)}%`);
console.log(`sum of kernel times ${(sum / reps).toFixed(2)} ms`);
