import * as tf from '@tensorflow/tfjs';
import {
  type CommonOptimizerOptions,
  createOptimizer,
  resolveDefaults,
  type StepContext,
} from './optimizer.js';
import { type HparamRange, validateHparam } from './param-groups.js';
import type { TensorloopOptimizer } from './types.js';

export interface AdagradOptions extends CommonOptimizerOptions {
  /** Learning rate. Default 0.01. */
  lr?: number;
  /** Learning-rate decay: step t uses lr / (1 + (t−1)·lrDecay). Default 0. */
  lrDecay?: number;
  /** Starting value of the squared-gradient sum (fixed at construction). Default 0 (tfjs uses 0.1). */
  initialAccumulatorValue?: number;
  /** Added to the denominator after the square root. Default 1e-10. */
  eps?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
}

const RANGES: Record<string, HparamRange> = {
  lr: 'nonNegative',
  lrDecay: 'nonNegative',
  eps: 'nonNegative',
  weightDecay: 'nonNegative',
};

/**
 * Adagrad as torch.optim.Adagrad: clr = lr / (1 + (t−1)·lrDecay); g += wd·θ; sum += g²;
 * θ −= clr·g/(√sum + eps), with t the variable's own step.
 */
export function adagrad(opts: AdagradOptions = {}): TensorloopOptimizer {
  const defaults = resolveDefaults(
    'adagrad',
    opts,
    { lr: 0.01, lrDecay: 0, eps: 1e-10, weightDecay: 0 },
    RANGES,
    [],
    ['initialAccumulatorValue'],
  );
  const initial = validateHparam(
    'initialAccumulatorValue',
    opts.initialAccumulatorValue ?? 0,
    'nonNegative',
    'adagrad()',
  );
  return createOptimizer({
    type: 'adagrad',
    defaults,
    ranges: RANGES,
    groups: opts.groups,
    noDecay: opts.noDecay,
    options: { initialAccumulatorValue: initial },
    slotNames: ['sum'],
    update: (ctx) => adagradUpdate(ctx, initial),
  });
}

function adagradUpdate({ param, grad, hparams, step, slots, scalar }: StepContext, initial: number): void {
  const { lr, lrDecay, eps, weightDecay } = hparams as Record<
    'lr' | 'lrDecay' | 'eps' | 'weightDecay',
    number
  >;
  let g: tf.Tensor = grad;
  if (weightDecay !== 0) g = g.add(param.mul(scalar(weightDecay)));
  const stored = slots.get('sum');
  const previous = stored ?? (initial === 0 ? undefined : tf.fill(param.shape, initial));
  const sum = previous === undefined ? g.square() : previous.add(g.square());
  slots.set('sum', sum, stored === undefined ? previous : undefined);
  const clr = lr / (1 + (step - 1) * lrDecay);
  param.assign(param.sub(g.div(sum.sqrt().add(scalar(eps))).mul(scalar(clr))));
}
