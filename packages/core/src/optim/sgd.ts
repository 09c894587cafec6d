import type * as tf from '@tensorflow/tfjs';
import { TensorloopError } from '../errors.js';
import { canFuse, FUSED_SGD_KERNEL, runFused } from './fused.js';
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
    fusedUpdate: (items) => fusedSgdUpdate(items, nesterov),
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

/** `sgdUpdate` for every weight at once through the backend's fused kernel (see fused.ts). */
function fusedSgdUpdate(items: readonly StepContext[], nesterov: boolean): boolean {
  if (!canFuse(FUSED_SGD_KERNEL, items)) return false;
  const inputs: Record<string, tf.Tensor> = {};
  const attrs = {
    count: items.length,
    lr: [] as number[],
    momentum: [] as number[],
    dampening: [] as number[],
    weightDecay: [] as number[],
    nesterov: [] as number[],
    hasBuffer: [] as number[],
  };
  items.forEach(({ param, grad, hparams, slots }, i) => {
    const { lr, momentum, dampening, weightDecay } = hparams as Record<
      'lr' | 'momentum' | 'dampening' | 'weightDecay',
      number
    >;
    inputs[`param${i}`] = param;
    inputs[`grad${i}`] = grad;
    const buffer = momentum !== 0 ? slots.get('momentum_buffer') : undefined;
    if (buffer !== undefined) inputs[`buffer${i}`] = buffer;
    attrs.lr.push(lr);
    attrs.momentum.push(momentum);
    attrs.dampening.push(dampening);
    attrs.weightDecay.push(weightDecay);
    attrs.nesterov.push(nesterov ? 1 : 0);
    attrs.hasBuffer.push(buffer === undefined ? 0 : 1);
  });
  const out = runFused(FUSED_SGD_KERNEL, inputs, attrs);
  let next = 0;
  for (const { param, hparams, slots } of items) {
    param.assign(out[next++]!);
    if (hparams.momentum !== 0) slots.set('momentum_buffer', out[next++]!);
  }
  return true;
}
