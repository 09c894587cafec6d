import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from './index.js';

export type BackendName = 'cpu' | 'wasm';

let wasmReady: Promise<unknown> | undefined;

/** Runs `fn` with `name` as the active backend (initializing wasm through this package once). */
export async function onBackend<T>(name: BackendName, fn: () => T | Promise<T>): Promise<T> {
  if (name === 'wasm') {
    wasmReady ??= initWasmBackend();
    await wasmReady;
  }
  await tf.setBackend(name);
  return fn();
}

/** A deterministic pseudo-random sequence in [-1, 1) (mulberry32), so failures reproduce. */
export function randomValues(size: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Relative error as used throughout these tests: the largest absolute difference divided by the
 * largest absolute expected value (elementwise ratios blow up where sums cancel to ~0).
 */
export function maxAbs(values: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]!));
  return max;
}

export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 0): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(a) !== Number.isNaN(e)) return Number.POSITIVE_INFINITY;
    maxDiff = Math.max(maxDiff, Math.abs(a - e));
    maxRef = Math.max(maxRef, Math.abs(e));
  }
  return maxDiff / Math.max(maxRef, floor, 1e-12);
}

export interface KernelResult {
  shape: number[];
  values: Float32Array | Int32Array;
}

export interface TensorSpec {
  shape: number[];
  values: Float32Array | Int32Array;
  dtype?: 'float32' | 'int32';
}

/** Runs one kernel directly (no op-level checks in the way) and reads its output. */
export async function runKernelOn(
  backend: BackendName,
  kernelName: string,
  inputs: Record<string, TensorSpec>,
  attrs: Record<string, unknown>,
): Promise<KernelResult> {
  return onBackend(backend, async () => {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [name, spec] of Object.entries(inputs)) {
      tensors[name] = tf.tensor(spec.values, spec.shape, spec.dtype ?? 'float32');
    }
    const out = tf.engine().runKernel(kernelName, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
    const values = (await out.data()) as Float32Array | Int32Array;
    const result = { shape: out.shape, values };
    out.dispose();
    for (const t of Object.values(tensors)) t.dispose();
    return result;
  });
}

export interface LayerCase {
  name: string;
  /** Input shape without the batch dimension. */
  input: number[];
  /** Integer inputs in [0, intRange) instead of random floats (embedding ids). */
  intRange?: number;
  layers: () => tf.layers.Layer[];
}

export interface LayerGradients {
  loss: number;
  output: Float32Array;
  /** Gradients in `model.trainableWeights` order (names differ between builds). */
  grads: { name: string; shape: number[]; values: Float32Array }[];
}

/**
 * Builds `layers` + flatten + dense(3) on `backend`, loads the same deterministic weights, and
 * computes the gradients of a mean-squared loss in training mode.
 */
export async function layerGradientsOn(
  backend: BackendName,
  c: LayerCase,
  batch = 3,
): Promise<LayerGradients> {
  return onBackend(backend, async () => {
    const model = tf.sequential();
    const layers = c.layers();
    for (const layer of layers) model.add(layer);
    if (model.outputs[0]!.shape.length > 2) model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 3 }));
    model.build([batch, ...c.input]);
    model.setWeights(
      model.getWeights().map((w, i) => {
        const values = randomValues(w.size, 1000 + i);
        // Keep variances positive and scales near 1 so batch-norm stays well conditioned.
        const positive = /variance|gamma/.test(model.weights[i]!.originalName);
        return tf.tensor(positive ? values.map((v) => 1 + 0.5 * v) : values.map((v) => 0.5 * v), w.shape);
      }),
    );
    const xValues = randomValues(batch * sizeOf(c.input), 7);
    const x =
      c.intRange === undefined
        ? tf.tensor(xValues, [batch, ...c.input])
        : tf.tensor(
            xValues.map((v) => Math.floor(((v + 1) / 2) * c.intRange!)),
            [batch, ...c.input],
          );
    const target = tf.tensor(randomValues(batch * 3, 8), [batch, 3]);
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const output = tf.tidy(() => model.apply(x, { training: true }) as tf.Tensor);
    const { value, grads } = tf.variableGrads(
      () => tf.losses.meanSquaredError(target, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      variables,
    );
    const result: LayerGradients = {
      loss: (await value.data())[0]!,
      output: (await output.data()) as Float32Array,
      grads: await Promise.all(
        variables.map(async (v, i) => ({
          // originalName carries a per-process layer counter: keep only the layer class and weight.
          name: model.trainableWeights[i]!.originalName.replace(/\d+/g, ''),
          shape: v.shape,
          values: (await grads[v.name]!.data()) as Float32Array,
        })),
      ),
    };
    tf.dispose([x, target, value, output, ...Object.values(grads)]);
    model.dispose();
    return result;
  });
}
