import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { adagrad } from './adagrad.js';
import { compareWithReference, refAdagrad } from './reference.test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('adagrad matches torch.optim.Adagrad for 3 steps (float64 reference, 1e-6)', () => {
  const cases = [
    { label: 'defaults', opts: {} },
    { label: 'lr 0.1', opts: { lr: 0.1 } },
    { label: 'lrDecay', opts: { lr: 0.1, lrDecay: 0.5 } },
    { label: 'initialAccumulatorValue', opts: { lr: 0.1, initialAccumulatorValue: 0.1 } },
    { label: 'weightDecay + lrDecay + eps', opts: { lr: 0.1, weightDecay: 0.2, lrDecay: 0.1, eps: 1e-3 } },
  ];
  for (const { label, opts } of cases) {
    it(label, () => {
      const { initialAccumulatorValue = 0, ...hp } = opts as Record<string, number>;
      const h = { lr: 0.01, lrDecay: 0, eps: 1e-10, weightDecay: 0, ...hp };
      compareWithReference(adagrad(opts), refAdagrad(initialAccumulatorValue), () => h);
    });
  }
});

it('adagrad with constant gradient 1 follows lr/√t (hand-computed)', () => {
  const p = tf.variable(tf.tensor([0]));
  const opt = adagrad({ lr: 0.1 });
  opt.bind([{ name: 'p', variable: p }]);
  for (let k = 0; k < 3; k++) tf.tidy(() => opt.applyGradients(new Map([['p', tf.tensor([1])]])));
  // −0.1·(1 + 1/√2 + 1/√3)
  expect(p.dataSync()[0]).toBeCloseTo(-0.228445705, 6);
  opt.dispose();
  p.dispose();
});

it('rejects a negative initialAccumulatorValue and lrDecay', () => {
  expect(() => adagrad({ initialAccumulatorValue: -1 })).toThrow(/TL_OPTION_INVALID/);
  expect(() => adagrad({ lrDecay: -1 })).toThrow(/TL_OPTION_INVALID/);
});
