import type * as tf from '@tensorflow/tfjs';
import { TensorloopError } from '../errors.js';
import {
  type CommonOptimizerOptions,
  createOptimizer,
  resolveDefaults,
  type StepContext,
} from './optimizer.js';
import type { HparamRange } from './param-groups.js';
import type { TensorloopOptimizer } from './types.js';

export interface SgdOptions extends CommonOptimizerOptions {
  /** Learning rate (required, as in torch.optim.SGD). */
  lr: number;
  /** Momentum factor. Default 0. */
  momentum?: number;
  /** Dampening for momentum. Default 0. */
  dampening?: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0. Default false. */
  nesterov?: boolean;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
}

const RANGES: Record<string, HparamRange> = {
  lr: 'nonNegative',
  momentum: 'nonNegative',
  dampening: 'finite',
  weightDecay: 'nonNegative',
};

/**
 * Stochastic gradient descent with momentum, as torch.optim.SGD:
 * g += wd·θ; b = μ·b + (1−τ)·g (b = g on the first step); g = nesterov ? g + μ·b : b; θ −= lr·g.
 */
export function sgd(opts: SgdOptions): TensorloopOptimizer {
  if (opts === null || typeof opts !== 'object' || opts.lr === undefined) {
    throw new TensorloopError('TL_OPTION_INVALID', 'sgd(): `lr` is required, e.g. sgd({ lr: 0.01 }).');
  }
  const defaults = resolveDefaults(
    'sgd',
    opts,
    { lr: opts.lr, momentum: 0, dampening: 0, weightDecay: 0 },
    RANGES,
    ['nesterov'],
  );
  const nesterov = opts.nesterov ?? false;
  return createOptimizer({
    type: 'sgd',
    defaults,
    ranges: RANGES,
    groups: opts.groups,
    noDecay: opts.noDecay,
    options: { nesterov },
    slotNames: ['momentum_buffer'],
    checkGroup: (h, where) => {
      if (nesterov && (!(h.momentum! > 0) || h.dampening !== 0)) {
        throw new TensorloopError(
          'TL_OPTION_INVALID',
          `${where}: nesterov momentum requires momentum > 0 and dampening 0 (got momentum ${h.momentum}, ` +
            `dampening ${h.dampening}). Set momentum (e.g. 0.9) and dampening 0, or nesterov: false.`,
        );
      }
    },
    update: (ctx) => sgdUpdate(ctx, nesterov),
  });
}

function sgdUpdate({ param, grad, hparams, slots, scalar }: StepContext, nesterov: boolean): void {
  const { lr, momentum, dampening, weightDecay } = hparams as Record<
    'lr' | 'momentum' | 'dampening' | 'weightDecay',
    number
  >;
  let g: tf.Tensor = grad;
  if (weightDecay !== 0) g = g.add(param.mul(scalar(weightDecay)));
  if (momentum !== 0) {
    const previous = slots.get('momentum_buffer');
    const buffer =
      previous === undefined ? g : previous.mul(scalar(momentum)).add(g.mul(scalar(1 - dampening)));
    slots.set('momentum_buffer', buffer);
    g = nesterov ? g.add(buffer.mul(scalar(momentum))) : buffer;
  }
  param.assign(param.sub(g.mul(scalar(lr))));
}
