import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '@tensorloop/backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adam, adamw } from './adam.js';
import { FUSED_ADAM_KERNEL, FUSED_SGD_KERNEL } from './fused.js';
import { sgd } from './sgd.js';
import type { TensorloopOptimizer } from './types.js';

/**
 * With @tensorloop/backend-wasm, adam/adamw/sgd update every weight in one fused kernel call on
 * wasm. The fused update must give today's (op-by-op) results: the same optimizer on the same
 * gradients, once with the kernels registered and once with them unregistered, within 1e-6.
 */

beforeAll(async () => {
  await initWasmBackend();
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

/** Weights whose sizes are not multiples of 4 (the SIMD loops' scalar tails run too). */
const SHAPES: Record<string, number[]> = {
  'dense/kernel': [7, 5],
  'dense/bias': [5],
  'out/kernel': [5, 3],
  'out/bias': [3],
};

function seeded(size: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: size }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
}

let runs = 0;

interface Run {
  params: Record<string, Float32Array>;
  slots: Record<string, Float32Array>;
  kernels: string[];
}

/**
 * Ten steps on fixed pseudo-random gradients; 'out/bias' gets no gradient on steps 0–3 (frozen,
 * then unfrozen: its own step count and bias correction start later).
 */
async function train(make: () => TensorloopOptimizer, fused: boolean): Promise<Run> {
  const saved = [FUSED_ADAM_KERNEL, FUSED_SGD_KERNEL].map((name) => tf.getKernel(name, 'wasm')!);
  if (!fused) for (const k of saved) tf.unregisterKernel(k.kernelName, 'wasm');
  try {
    const optimizer = make();
    const variables = Object.entries(SHAPES).map(([name, shape], i) => ({
      name,
      variable: tf.variable(
        tf.tensor(seeded(tf.util.sizeFromShape(shape), i + 1), shape),
        true,
        `${name}-${++runs}`,
      ),
    }));
    optimizer.bind(variables);
    const kernels = new Set<string>();
    let afterFirst = 0;
    for (let step = 0; step < 10; step++) {
      const profile = await tf.profile(() =>
        tf.tidy(() => {
          const grads = new Map<string, tf.Tensor>();
          variables.forEach(({ name, variable }, i) => {
            if (name === 'out/bias' && step < 4) return;
            grads.set(name, tf.tensor(seeded(variable.size, 100 * step + i), variable.shape));
          });
          optimizer.applyGradients(grads);
        }),
      );
      for (const k of profile.kernels) kernels.add(k.name);
      if (step === 4) afterFirst = tf.memory().numTensors;
    }
    // No tensor per step once every slot exists.
    expect(tf.memory().numTensors).toBe(afterFirst);
    const params = Object.fromEntries(
      variables.map(({ name, variable }) => [name, variable.dataSync() as Float32Array]),
    );
    const state = optimizer.getState();
    const slots = Object.fromEntries(
      Object.entries(state.slots).map(([k, t]) => [k, t.dataSync() as Float32Array]),
    );
    tf.dispose(Object.values(state.slots));
    optimizer.dispose();
    for (const { variable } of variables) variable.dispose();
    return { params, slots, kernels: [...kernels] };
  } finally {
    if (!fused) for (const k of saved) tf.registerKernel(k);
  }
}

function maxDifference(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  let max = 0;
  for (const [key, values] of Object.entries(a)) {
    const other = b[key]!;
    expect(values.length).toBe(other.length);
    for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]! - other[i]!));
  }
  return max;
}

const cases: { label: string; make: () => TensorloopOptimizer; kernel: string }[] = [
  { label: 'adam defaults', make: () => adam(), kernel: FUSED_ADAM_KERNEL },
  {
    label: 'adam, coupled weightDecay, custom betas',
    make: () => adam({ lr: 0.05, beta1: 0.5, beta2: 0.9, eps: 1e-3, weightDecay: 0.3 }),
    kernel: FUSED_ADAM_KERNEL,
  },
  { label: 'adamw defaults', make: () => adamw(), kernel: FUSED_ADAM_KERNEL },
  {
    label: 'adamw, groups with their own lr and decay',
    make: () => adamw({ lr: 0.01, weightDecay: 0.5, groups: [{ match: /bias/, lr: 0.1, weightDecay: 0 }] }),
    kernel: FUSED_ADAM_KERNEL,
  },
  { label: 'sgd', make: () => sgd({ lr: 0.1 }), kernel: FUSED_SGD_KERNEL },
  {
    label: 'sgd, momentum, dampening, weightDecay',
    make: () => sgd({ lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2 }),
    kernel: FUSED_SGD_KERNEL,
  },
  {
    label: 'sgd, nesterov',
    make: () => sgd({ lr: 0.05, momentum: 0.8, nesterov: true }),
    kernel: FUSED_SGD_KERNEL,
  },
  {
    label: 'sgd, momentum only in one group',
    make: () => sgd({ lr: 0.05, groups: [{ match: /kernel/, momentum: 0.9 }] }),
    kernel: FUSED_SGD_KERNEL,
  },
];

describe('fused optimizer updates on wasm equal the op-by-op update (10 steps, 1e-6)', () => {
  it.each(cases)('$label', async ({ make, kernel }) => {
    const fused = await train(make, true);
    const unfused = await train(make, false);
    expect(fused.kernels).toContain(kernel);
    expect(unfused.kernels).not.toContain(kernel);
    // The fused call replaces the elementwise kernels entirely.
    expect(fused.kernels).not.toContain('Mul');
    expect(maxDifference(fused.params, unfused.params)).toBeLessThan(1e-6);
    expect(maxDifference(fused.slots, unfused.slots)).toBeLessThan(1e-6);
    // ...and the weights moved.
    const initial = await train(() => sgd({ lr: 0 }), false);
    expect(maxDifference(fused.params, initial.params)).toBeGreaterThan(1e-3);
  });

  it('amsgrad stays op by op (no fused kernel for its running maximum)', async () => {
    const run = await train(() => adam({ amsgrad: true }), true);
    expect(run.kernels).not.toContain(FUSED_ADAM_KERNEL);
    expect(run.kernels).toContain('Maximum');
  });
});
