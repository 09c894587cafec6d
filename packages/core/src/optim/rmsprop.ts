import type * as tf from '@tensorflow/tfjs';
import { decay } from './adam.js';
import {
  type CommonOptimizerOptions,
  createOptimizer,
  resolveDefaults,
  type StepContext,
} from './optimizer.js';
import type { HparamRange } from './param-groups.js';
import type { TensorloopOptimizer } from './types.js';

export interface RmspropOptions extends CommonOptimizerOptions {
  /** Learning rate. Default 0.01 (torch; tfjs and Keras use 0.001). */
  lr?: number;
  /** Smoothing constant of the squared-gradient average. Default 0.99. */
  alpha?: number;
  /** Added to the denominator after the square root. Default 1e-8. */
  eps?: number;
  /** Momentum factor. Default 0. */
  momentum?: number;
  /** Normalize by the estimated variance (subtract the squared mean gradient). Default false. */
  centered?: boolean;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
}

const RANGES: Record<string, HparamRange> = {
  lr: 'nonNegative',
  alpha: 'nonNegative',
  eps: 'nonNegative',
  momentum: 'nonNegative',
  weightDecay: 'nonNegative',
};

/**
 * RMSprop as torch.optim.RMSprop: v = α·v + (1−α)·g²; centered: v −= ḡ²;
 * momentum: b = μ·b + g/(√v + eps), θ −= lr·b; else θ −= lr·g/(√v + eps).
 */
export function rmsprop(opts: RmspropOptions = {}): TensorloopOptimizer {
  const defaults = resolveDefaults(
    'rmsprop',
    opts,
    { lr: 0.01, alpha: 0.99, eps: 1e-8, momentum: 0, weightDecay: 0 },
    RANGES,
    ['centered'],
  );
  const centered = opts.centered ?? false;
  return createOptimizer({
    type: 'rmsprop',
    defaults,
    ranges: RANGES,
    groups: opts.groups,
    noDecay: opts.noDecay,
    options: { centered },
    slotNames: ['square_avg', 'grad_avg', 'momentum_buffer'],
    update: (ctx) => rmspropUpdate(ctx, centered),
  });
}

function rmspropUpdate({ param, grad, hparams, slots, scalar }: StepContext, centered: boolean): void {
  const { lr, alpha, eps, momentum, weightDecay } = hparams as Record<
    'lr' | 'alpha' | 'eps' | 'momentum' | 'weightDecay',
    number
  >;
  let g: tf.Tensor = grad;
  if (weightDecay !== 0) g = g.add(param.mul(scalar(weightDecay)));
  const squareAvg = decay(slots.get('square_avg'), alpha, g.square(), scalar);
  slots.set('square_avg', squareAvg);
  let variance = squareAvg;
  if (centered) {
    const gradAvg = decay(slots.get('grad_avg'), alpha, g, scalar);
    slots.set('grad_avg', gradAvg);
    variance = squareAvg.sub(gradAvg.square());
  }
  const normalized = g.div(variance.sqrt().add(scalar(eps)));
  if (momentum > 0) {
    const previous = slots.get('momentum_buffer');
    const buffer = previous === undefined ? normalized : previous.mul(scalar(momentum)).add(normalized);
    slots.set('momentum_buffer', buffer);
    param.assign(param.sub(buffer.mul(scalar(lr))));
  } else {
    param.assign(param.sub(normalized.mul(scalar(lr))));
  }
}
