import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { isTensorloopError } from '../errors.js';
import { compareWithReference, refSgd } from './reference.test-util.js';
import { sgd } from './sgd.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('sgd matches torch.optim.SGD for 3 steps (float64 reference, 1e-6)', () => {
  const cases = [
    { label: 'plain', opts: { lr: 0.1 } },
    { label: 'momentum', opts: { lr: 0.1, momentum: 0.9 } },
    { label: 'momentum + dampening', opts: { lr: 0.1, momentum: 0.9, dampening: 0.5 } },
    { label: 'nesterov', opts: { lr: 0.1, momentum: 0.9, nesterov: true } },
    { label: 'weightDecay', opts: { lr: 0.1, weightDecay: 0.1 } },
    { label: 'nesterov + weightDecay', opts: { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.2 } },
  ];
  for (const { label, opts } of cases) {
    it(label, () => {
      const h = { momentum: 0, dampening: 0, weightDecay: 0, ...opts };
      compareWithReference(sgd(opts), refSgd(opts.nesterov ?? false), () => h);
    });
  }
});

it('sgd with momentum reproduces hand-computed numbers (lr 0.1, momentum 0.9, constant gradient 1)', () => {
  // b1 = 1, b2 = 1.9, b3 = 2.71 → θ = −0.1, −0.29, −0.561
  const p = tf.variable(tf.scalar(0));
  const opt = sgd({ lr: 0.1, momentum: 0.9 });
  opt.bind([{ name: 'p', variable: p }]);
  const seen: number[] = [];
  for (let k = 0; k < 3; k++) {
    tf.tidy(() => opt.applyGradients(new Map([['p', tf.scalar(1)]])));
    seen.push(p.dataSync()[0]!);
  }
  expect(seen[0]).toBeCloseTo(-0.1, 6);
  expect(seen[1]).toBeCloseTo(-0.29, 6);
  expect(seen[2]).toBeCloseTo(-0.561, 6);
  opt.dispose();
  p.dispose();
});

describe('sgd options are validated', () => {
  const invalid: [string, () => unknown, string][] = [
    ['lr is required', () => sgd({} as { lr: number }), 'TL_OPTION_INVALID'],
    ['negative lr', () => sgd({ lr: -1 }), 'TL_OPTION_INVALID'],
    ['negative momentum', () => sgd({ lr: 0.1, momentum: -0.5 }), 'TL_OPTION_INVALID'],
    ['nesterov without momentum', () => sgd({ lr: 0.1, nesterov: true }), 'TL_OPTION_INVALID'],
    [
      'nesterov with dampening',
      () => sgd({ lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }),
      'TL_OPTION_INVALID',
    ],
    [
      'nesterov group without momentum',
      () => sgd({ lr: 0.1, momentum: 0.9, nesterov: true, groups: [{ match: /x/, momentum: 0 }] }),
      'TL_OPTION_INVALID',
    ],
    ['unknown option', () => sgd({ lr: 0.1, learningRate: 0.1 } as { lr: number }), 'TL_OPTION_INVALID'],
    [
      'unknown group hparam',
      () => sgd({ lr: 0.1, groups: [{ match: /x/, beta1: 0.9 }] }),
      'TL_OPTION_INVALID',
    ],
    ['NaN lr', () => sgd({ lr: Number.NaN }), 'TL_OPTION_INVALID'],
  ];
  for (const [label, make, code] of invalid) {
    it(label, () => {
      let caught: unknown;
      try {
        make();
      } catch (error) {
        caught = error;
      }
      expect(isTensorloopError(caught, code as 'TL_OPTION_INVALID')).toBe(true);
    });
  }
});
