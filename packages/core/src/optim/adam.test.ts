import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { isTensorloopError } from '../errors.js';
import { adam, adamw } from './adam.js';
import { compareWithReference, refAdam } from './reference.test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const base = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

describe('adam matches torch.optim.Adam for 3 steps (float64 reference, 1e-6)', () => {
  const cases = [
    { label: 'defaults', opts: {} },
    { label: 'lr 0.1', opts: { lr: 0.1 } },
    { label: 'custom betas and eps', opts: { lr: 0.05, beta1: 0.5, beta2: 0.9, eps: 1e-3 } },
    { label: 'coupled weightDecay (L2)', opts: { lr: 0.1, weightDecay: 0.3 } },
    { label: 'amsgrad', opts: { lr: 0.1, beta2: 0.5, amsgrad: true } },
    { label: 'amsgrad + weightDecay', opts: { lr: 0.1, beta2: 0.5, amsgrad: true, weightDecay: 0.1 } },
  ];
  for (const { label, opts } of cases) {
    it(label, () => {
      const h = { ...base, weightDecay: 0, ...opts };
      const rule = refAdam({ decoupled: false, amsgrad: 'amsgrad' in opts && opts.amsgrad === true });
      compareWithReference(adam(opts), rule, () => h);
    });
  }
});

describe('adamw matches torch.optim.AdamW for 3 steps (float64 reference, 1e-6)', () => {
  const cases = [
    { label: 'defaults (weightDecay 0.01)', opts: {} },
    { label: 'lr 0.1, weightDecay 0.5', opts: { lr: 0.1, weightDecay: 0.5 } },
    { label: 'amsgrad', opts: { lr: 0.1, beta2: 0.5, weightDecay: 0.2, amsgrad: true } },
  ];
  for (const { label, opts } of cases) {
    it(label, () => {
      const h = { ...base, weightDecay: 0.01, ...opts };
      const rule = refAdam({ decoupled: true, amsgrad: 'amsgrad' in opts && opts.amsgrad === true });
      compareWithReference(adamw(opts), rule, () => h);
    });
  }
});

it('adamw decay is decoupled: with zero gradients θ shrinks by exactly (1 − lr·wd) per step, adam does not move', () => {
  const w = tf.variable(tf.tensor([2, -4]));
  const v = tf.variable(tf.tensor([2, -4]));
  const decoupled = adamw({ lr: 0.1, weightDecay: 0.5 });
  const coupled = adam({ lr: 0.1, weightDecay: 0.5 });
  decoupled.bind([{ name: 'w', variable: w }]);
  coupled.bind([{ name: 'w', variable: v }]);
  for (let k = 0; k < 3; k++) {
    tf.tidy(() => decoupled.applyGradients(new Map([['w', tf.zeros([2])]])));
    tf.tidy(() => coupled.applyGradients(new Map([['w', tf.zeros([2])]])));
  }
  const shrink = 0.95 ** 3;
  expect(w.dataSync()[0]).toBeCloseTo(2 * shrink, 6);
  expect(w.dataSync()[1]).toBeCloseTo(-4 * shrink, 6);
  // Coupled L2 turns into a gradient that Adam normalizes: each step moves by ≈ lr·sign(θ), not by a factor.
  expect(v.dataSync()[0]).toBeCloseTo(2 - 0.3, 2);
  expect(Math.abs(v.dataSync()[0]! - 2 * shrink)).toBeGreaterThan(0.01);
  decoupled.dispose();
  coupled.dispose();
  w.dispose();
  v.dispose();
});

it('adam with a constant gradient moves by lr·sign(g) each step (bias-corrected moments equal g and g²)', () => {
  const p = tf.variable(tf.tensor([1, 1]));
  const opt = adam({ lr: 0.01 });
  opt.bind([{ name: 'p', variable: p }]);
  for (let k = 0; k < 3; k++) tf.tidy(() => opt.applyGradients(new Map([['p', tf.tensor([3, -0.5])]])));
  expect(p.dataSync()[0]).toBeCloseTo(0.97, 6);
  expect(p.dataSync()[1]).toBeCloseTo(1.03, 6);
  opt.dispose();
  p.dispose();
});

describe('adam options are validated', () => {
  const invalid: [string, () => unknown][] = [
    ['beta1 = 1', () => adam({ beta1: 1 })],
    ['beta2 < 0', () => adamw({ beta2: -0.1 })],
    ['negative eps', () => adam({ eps: -1 })],
    ['negative weightDecay', () => adamw({ weightDecay: -0.01 })],
    ['group beta outside [0, 1)', () => adam({ groups: [{ match: /x/, beta1: 1.5 }] })],
    ['amsgrad not boolean', () => adam({ amsgrad: 1 as unknown as boolean })],
    ['noDecay unknown', () => adam({ noDecay: 'bias' as 'bias-and-norm' })],
  ];
  for (const [label, make] of invalid) {
    it(label, () => {
      expect(make).toThrow(/TL_OPTION_INVALID/);
      try {
        make();
      } catch (error) {
        expect(isTensorloopError(error, 'TL_OPTION_INVALID')).toBe(true);
      }
    });
  }
});
