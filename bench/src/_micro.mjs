// Micro-timings of single kernels on wasm + @tensorloop/backend-wasm (not part of run-all).
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './lib/backends.mjs';

await initBackend(process.env.TL_PROFILE_BACKEND ?? 'wasm+tl');
function time(label, fn, n = 50) {
  for (let i = 0; i < 5; i++) tf.dispose(fn());
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) tf.dispose(fn());
  const c = process.cpuUsage(t0);
  console.log(`${label.padEnd(50)} ${((c.user + c.system) / 1000 / n).toFixed(3)} ms`);
}
const r = (shape) => tf.randomUniform(shape, -1, 1);
for (const [xs, fs] of [[[64, 28, 28, 1], [3, 3, 1, 16]], [[64, 13, 13, 16], [3, 3, 16, 32]]]) {
  const x = r(xs);
  const y = tf.conv2d(x, r(fs), 1, 'valid');
  const dy = r(y.shape);
  time(`conv2d fwd ${xs}`, () => tf.conv2d(x, r(fs), 1, 'valid'));
  time(`Conv2DBackpropFilter ${xs} ${fs}`, () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: fs }));
  time(`Conv2DBackpropInput ${xs} ${fs}`, () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: r(fs) }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: xs }));
  const p = tf.maxPool(y, 2, 2, 'valid');
  time(`maxPool ${y.shape}`, () => tf.maxPool(y, 2, 2, 'valid'));
  const dp = r(p.shape);
  time(`MaxPoolGrad ${y.shape}`, () => tf.engine().runKernel('MaxPoolGrad', { dy: dp, input: y, output: p }, { filterSize: 2, strides: 2, pad: 'valid' }));
  time(`relu ${y.shape}`, () => tf.relu(y));
  time(`sum axis0 ${y.shape}`, () => tf.sum(y, [0, 1, 2]));
  time(`add ${y.shape}`, () => tf.add(y, y));
}
const a = r([784, 256]);
time('transpose 784x256 (patched BatchMatMul path)', () => tf.transpose(a));
const data = r([60000, 784]);
const idx = tf.tensor1d(Int32Array.from({ length: 128 }, (_, i) => (i * 7919) % 60000), 'int32');
time('gather 128 rows of [60000,784]', () => tf.gather(data, idx));
time('slice 128 rows of [60000,784]', () => tf.slice(data, [3000, 0], [128, 784]));
