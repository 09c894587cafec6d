/**
 * Independent float64 implementations of PyTorch's documented update rules (the pseudo-code in the
 * torch.optim.SGD / Adam / AdamW / RMSprop / Adagrad docs), element-wise over plain arrays.
 * Test-only: tensorloop's optimizers are checked against these.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { TensorloopOptimizer } from './types.js';

export type Vec = number[];
type Slots = Record<string, Vec | undefined>;
export interface RefState {
  step: number;
  slots: Slots;
}
export type RefHparams = Readonly<Record<string, unknown>>;
export type RefRule = (theta: Vec, grad: Vec, state: RefState, h: RefHparams) => Vec;

const zeros = (n: number): Vec => new Array<number>(n).fill(0);

export function refSgd(nesterov: boolean): RefRule {
  return (theta, grad, state, h) => {
    state.step += 1;
    const { lr, momentum = 0, dampening = 0, weightDecay = 0 } = h as Record<string, number>;
    let g = grad.map((gi, i) => (weightDecay !== 0 ? gi + weightDecay * theta[i]! : gi));
    if (momentum !== 0) {
      const prev = state.slots.b;
      const b =
        state.step > 1 && prev ? prev.map((bi, i) => momentum * bi + (1 - dampening) * g[i]!) : [...g];
      state.slots.b = b;
      g = nesterov ? g.map((gi, i) => gi + momentum * b[i]!) : b;
    }
    return theta.map((t, i) => t - lr! * g[i]!);
  };
}

export function refAdam(opts: { decoupled: boolean; amsgrad: boolean }): RefRule {
  return (theta, grad, state, h) => {
    state.step += 1;
    const t = state.step;
    const { lr, beta1, beta2, eps, weightDecay } = h as Record<string, number>;
    let th = theta;
    let g = grad;
    if (opts.decoupled) th = theta.map((x) => x - lr! * weightDecay! * x);
    else if (weightDecay !== 0) g = grad.map((gi, i) => gi + weightDecay! * theta[i]!);
    const m0 = state.slots.m ?? zeros(g.length);
    const v0 = state.slots.v ?? zeros(g.length);
    const m = m0.map((mi, i) => beta1! * mi + (1 - beta1!) * g[i]!);
    const v = v0.map((vi, i) => beta2! * vi + (1 - beta2!) * g[i]! * g[i]!);
    state.slots.m = m;
    state.slots.v = v;
    const mHat = m.map((mi) => mi / (1 - beta1! ** t));
    let vUse = v;
    if (opts.amsgrad) {
      const vmax0 = state.slots.vmax ?? zeros(g.length);
      vUse = vmax0.map((x, i) => Math.max(x, v[i]!));
      state.slots.vmax = vUse;
    }
    const vHat = vUse.map((vi) => vi / (1 - beta2! ** t));
    return th.map((x, i) => x - (lr! * mHat[i]!) / (Math.sqrt(vHat[i]!) + eps!));
  };
}

export function refRmsprop(centered: boolean): RefRule {
  return (theta, grad, state, h) => {
    state.step += 1;
    const { lr, alpha, eps, momentum, weightDecay } = h as Record<string, number>;
    const g = grad.map((gi, i) => (weightDecay !== 0 ? gi + weightDecay! * theta[i]! : gi));
    const v = (state.slots.v ?? zeros(g.length)).map((vi, i) => alpha! * vi + (1 - alpha!) * g[i]! * g[i]!);
    state.slots.v = v;
    let vTilde = v;
    if (centered) {
      const gAve = (state.slots.gAve ?? zeros(g.length)).map((a, i) => a * alpha! + (1 - alpha!) * g[i]!);
      state.slots.gAve = gAve;
      vTilde = v.map((vi, i) => vi - gAve[i]! ** 2);
    }
    if (momentum! > 0) {
      const b = (state.slots.b ?? zeros(g.length)).map(
        (bi, i) => momentum! * bi + g[i]! / (Math.sqrt(vTilde[i]!) + eps!),
      );
      state.slots.b = b;
      return theta.map((x, i) => x - lr! * b[i]!);
    }
    return theta.map((x, i) => x - (lr! * g[i]!) / (Math.sqrt(vTilde[i]!) + eps!));
  };
}

export function refAdagrad(initialAccumulatorValue: number): RefRule {
  return (theta, grad, state, h) => {
    state.step += 1;
    const { lr, lrDecay, eps, weightDecay } = h as Record<string, number>;
    const clr = lr! / (1 + (state.step - 1) * lrDecay!);
    const g = grad.map((gi, i) => (weightDecay !== 0 ? gi + weightDecay! * theta[i]! : gi));
    const sum = (state.slots.sum ?? new Array<number>(g.length).fill(initialAccumulatorValue)).map(
      (s, i) => s + g[i]! * g[i]!,
    );
    state.slots.sum = sum;
    return theta.map((x, i) => x - (clr * g[i]!) / (Math.sqrt(sum[i]!) + eps!));
  };
}

/** The fixed example: two variables and three steps of gradients with mixed signs and scales. */
export const EXAMPLE = {
  initial: {
    'dense_Dense1/kernel': [0.5, -1.2, 0.3, 2.0, -0.7, 0.05],
    'dense_Dense1/bias': [0.1, -0.2, 0.0],
  } as Record<string, Vec>,
  shapes: { 'dense_Dense1/kernel': [2, 3], 'dense_Dense1/bias': [3] } as Record<string, number[]>,
  grads: [
    { 'dense_Dense1/kernel': [0.9, -0.4, 2.5, -0.01, 0.3, -1.7], 'dense_Dense1/bias': [1.0, -0.5, 0.25] },
    { 'dense_Dense1/kernel': [0.1, 0.6, -1.5, 0.02, -0.3, 0.4], 'dense_Dense1/bias': [-0.2, 0.05, 0.7] },
    { 'dense_Dense1/kernel': [-0.8, 0.2, 0.05, 0.3, 0.9, -0.1], 'dense_Dense1/bias': [0.3, 0.3, -1.1] },
  ] as Record<string, Vec>[],
};

export function makeVariables(values: Record<string, Vec> = EXAMPLE.initial, order?: string[]) {
  return (order ?? Object.keys(values)).map((name) => ({
    name,
    variable: tf.variable(tf.tensor(values[name]!, EXAMPLE.shapes[name]), true),
  }));
}

export function gradMap(grads: Record<string, Vec>): Map<string, tf.Tensor> {
  return new Map(Object.entries(grads).map(([name, g]) => [name, tf.tensor(g, EXAMPLE.shapes[name])]));
}

/**
 * Runs `optimizer` and the reference side by side for the example's 3 steps and checks every
 * parameter after every step to `tolerance`.
 */
export function compareWithReference(
  optimizer: TensorloopOptimizer,
  rule: RefRule,
  hparamsOf: (name: string) => RefHparams,
  tolerance = 1e-6,
): void {
  const vars = makeVariables();
  optimizer.bind(vars);
  const ref: Record<string, { theta: Vec; state: RefState }> = {};
  for (const name of Object.keys(EXAMPLE.initial)) {
    ref[name] = { theta: [...EXAMPLE.initial[name]!], state: { step: 0, slots: {} } };
  }
  for (const [k, grads] of EXAMPLE.grads.entries()) {
    tf.tidy(() => optimizer.applyGradients(gradMap(grads)));
    for (const { name, variable } of vars) {
      const r = ref[name]!;
      r.theta = rule(r.theta, grads[name]!, r.state, hparamsOf(name));
      const actual = Array.from(variable.dataSync());
      for (const [i, expected] of r.theta.entries()) {
        const diff = Math.abs(actual[i]! - expected);
        if (!(diff <= tolerance)) {
          expect.fail(
            `step ${k + 1}, ${name}[${i}]: got ${actual[i]}, reference ${expected} (|diff| ${diff} > ${tolerance})`,
          );
        }
      }
    }
  }
  // Sanity: the example actually moved the weights.
  expect(Array.from(vars[0]!.variable.dataSync())).not.toEqual(EXAMPLE.initial[vars[0]!.name]);
  optimizer.dispose();
  for (const { variable } of vars) variable.dispose();
}
