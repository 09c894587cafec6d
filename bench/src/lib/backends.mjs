// The three backends the benchmarks compare. One backend per process: importing
// @tensorloop/backend-wasm replaces kernels of tfjs's 'wasm' backend for the whole process.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { scrub } from './results.mjs';

export const BACKENDS = {
  cpu: 'tfjs cpu (pure JS)',
  wasm: 'plain @tensorflow/tfjs-backend-wasm',
  'wasm+tl': 'wasm + @tensorloop/backend-wasm',
};

const require = createRequire(import.meta.url);

/** Why @tensorloop/backend-wasm cannot be used, or undefined when its build is present. */
export function tensorloopWasmMissing() {
  let pkgJson;
  try {
    pkgJson = require.resolve('@tensorloop/backend-wasm/package.json');
  } catch {
    return '@tensorloop/backend-wasm is not installed in the bench workspace';
  }
  const dist = path.join(path.dirname(pkgJson), 'dist', 'index.js');
  if (!existsSync(dist)) return '@tensorloop/backend-wasm has no dist/index.js (not built yet)';
  return undefined;
}

/** Make `name` the active backend; returns details worth recording. */
export async function initBackend(name) {
  if (name === 'cpu') {
    await tf.setBackend('cpu');
  } else if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    await tf.setBackend('wasm');
  } else if (name === 'wasm+tl') {
    const missing = tensorloopWasmMissing();
    if (missing) throw new Error(missing);
    const pkg = await import('@tensorloop/backend-wasm');
    const info = await pkg.initWasmBackend();
    await tf.ready();
    if (tf.getBackend() !== 'wasm') throw new Error(`initWasmBackend left backend ${tf.getBackend()}`);
    tf.enableProdMode();
    return { patchedKernels: [...(pkg.patchedKernels ?? [])], simd: info?.simd, threads: info?.threads };
  } else {
    throw new Error(`unknown backend ${name}; use one of ${Object.keys(BACKENDS).join(', ')}`);
  }
  await tf.ready();
  if (tf.getBackend() !== (name === 'cpu' ? 'cpu' : 'wasm')) {
    throw new Error(`could not activate ${name}: active backend is ${tf.getBackend()}`);
  }
  // No per-op NaN checks or debug bookkeeping (research/tfjs.md §9).
  tf.enableProdMode();
  return {};
}

export function errorText(error) {
  return scrub(error instanceof Error ? error.message : String(error))
    .split('\n')[0]
    .slice(0, 300);
}
