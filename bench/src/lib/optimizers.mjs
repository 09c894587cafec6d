// The optimizer a benchmark trains with, by name: core's `adam` (one fused kernel per step on
// wasm + @tensorloop/backend-wasm) or tfjs's own `tf.train.adam` (about ten kernels per weight).
import * as tf from '@tensorflow/tfjs';
import { adam } from '@tensorloop/core';

export const OPTIMIZERS = {
  core: "@tensorloop/core's `adam({ lr: 1e-3 })` (fused on wasm)",
  tfjs: '`tf.train.adam(1e-3)`',
};

export function optimizerFor(name) {
  if (name === 'core') return adam({ lr: 1e-3 });
  if (name === 'tfjs') return tf.train.adam(1e-3);
  throw new Error(`unknown optimizer ${name}; known: ${Object.keys(OPTIMIZERS).join(', ')}`);
}
