import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareWithReference, refRmsprop } from './reference.test-util.js';
import { rmsprop } from './rmsprop.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('rmsprop matches torch.optim.RMSprop for 3 steps (float64 reference, 1e-6)', () => {
  const cases = [
    { label: 'defaults', opts: {} },
    { label: 'alpha 0.9', opts: { lr: 0.05, alpha: 0.9 } },
    { label: 'centered', opts: { lr: 0.01, alpha: 0.9, centered: true } },
    { label: 'momentum', opts: { lr: 0.01, momentum: 0.9 } },
    {
      label: 'centered + momentum + weightDecay',
      opts: { lr: 0.01, alpha: 0.8, momentum: 0.5, centered: true, weightDecay: 0.1 },
    },
  ];
  for (const { label, opts } of cases) {
    it(label, () => {
      const h = { lr: 0.01, alpha: 0.99, eps: 1e-8, momentum: 0, weightDecay: 0, ...opts };
      compareWithReference(rmsprop(opts), refRmsprop('centered' in opts && opts.centered === true), () => h);
    });
  }
});

it('rmsprop first step is lr·g/(√((1−α)·g²) + eps) (hand-computed)', () => {
  const p = tf.variable(tf.tensor([0]));
  const opt = rmsprop({ lr: 0.01, alpha: 0.99 });
  opt.bind([{ name: 'p', variable: p }]);
  tf.tidy(() => opt.applyGradients(new Map([['p', tf.tensor([2])]])));
  // √(0.01·4) = 0.2 → step 0.01·2/0.2 = 0.1
  expect(p.dataSync()[0]).toBeCloseTo(-0.1, 6);
  opt.dispose();
  p.dispose();
});

it('rejects negative alpha and momentum', () => {
  expect(() => rmsprop({ alpha: -0.1 })).toThrow(/TL_OPTION_INVALID/);
  expect(() => rmsprop({ momentum: -1 })).toThrow(/TL_OPTION_INVALID/);
});
