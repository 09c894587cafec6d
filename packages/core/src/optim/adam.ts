import type * as tf from '@tensorflow/tfjs';
import { canFuse, FUSED_ADAM_KERNEL, runFused } from './fused.js';
import {
  type CommonOptimizerOptions,
  createOptimizer,
  resolveDefaults,
  type StepContext,
} from './optimizer.js';
import type { HparamRange } from './param-groups.js';
import type { TensorloopOptimizer } from './types.js';

export interface AdamOptions extends CommonOptimizerOptions {
  /** Learning rate. Default 1e-3. */
  lr?: number;
  /** Decay of the first-moment average. Default 0.9. */
  beta1?: number;
  /** Decay of the second-moment average. Default 0.999. */
  beta2?: number;
  /** Added to the denominator. Default 1e-8. */
  eps?: number;
  /** `adam`: L2 penalty added to the gradient (default 0). `adamw`: decoupled decay (default 0.01). */
  weightDecay?: number;
  /** AMSGrad: divide by the running maximum of the second moment. Default false. */
  amsgrad?: boolean;
}

const RANGES: Record<string, HparamRange> = {
  lr: 'nonNegative',
  beta1: 'unitInterval',
  beta2: 'unitInterval',
  eps: 'nonNegative',
  weightDecay: 'nonNegative',
};

/** Adam as torch.optim.Adam: coupled weight decay (g += wd·θ), bias correction per variable step. */
export function adam(opts: AdamOptions = {}): TensorloopOptimizer {
  return adamFamily('adam', opts, 0);
}

/** AdamW as torch.optim.AdamW: θ −= lr·wd·θ before the Adam update; weightDecay defaults to 0.01. */
export function adamw(opts: AdamOptions = {}): TensorloopOptimizer {
  return adamFamily('adamw', opts, 0.01);
}

function adamFamily(type: 'adam' | 'adamw', opts: AdamOptions, weightDecay: number): TensorloopOptimizer {
  const defaults = resolveDefaults(
    type,
    opts,
    { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay },
    RANGES,
    ['amsgrad'],
  );
  const amsgrad = opts.amsgrad ?? false;
  const decoupled = type === 'adamw';
  return createOptimizer({
    type,
    defaults,
    ranges: RANGES,
    groups: opts.groups,
    noDecay: opts.noDecay,
    options: { amsgrad },
    slotNames: ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'],
    update: (ctx) => adamUpdate(ctx, decoupled, amsgrad),
    // AMSGrad's running maximum has no fused kernel; it always runs op by op.
    ...(amsgrad ? {} : { fusedUpdate: (items: readonly StepContext[]) => fusedAdamUpdate(items, decoupled) }),
  });
}

function adamUpdate(
  { param, grad, hparams, step, slots, scalar }: StepContext,
  decoupled: boolean,
  amsgrad: boolean,
): void {
  const { lr, beta1, beta2, eps, weightDecay } = hparams as Record<
    'lr' | 'beta1' | 'beta2' | 'eps' | 'weightDecay',
    number
  >;
  let g: tf.Tensor = grad;
  let base: tf.Tensor = param;
  if (weightDecay !== 0) {
    if (decoupled) base = param.mul(scalar(1 - lr * weightDecay));
    else g = g.add(param.mul(scalar(weightDecay)));
  }
  const m = decay(slots.get('exp_avg'), beta1, g, scalar);
  const v = decay(slots.get('exp_avg_sq'), beta2, g.square(), scalar);
  slots.set('exp_avg', m);
  slots.set('exp_avg_sq', v);
  let second = v;
  if (amsgrad) {
    const previousMax = slots.get('max_exp_avg_sq');
    second = previousMax === undefined ? v : previousMax.maximum(v);
    slots.set('max_exp_avg_sq', second);
  }
  const biasCorrection1 = 1 - beta1 ** step;
  const biasCorrection2 = 1 - beta2 ** step;
  // θ −= (lr / bc1) · m / (√v / √bc2 + eps), the order torch uses.
  const denom = second
    .sqrt()
    .mul(scalar(1 / Math.sqrt(biasCorrection2)))
    .add(scalar(eps));
  param.assign(base.sub(m.div(denom).mul(scalar(lr / biasCorrection1))));
}

/** `adamUpdate` for every weight at once through the backend's fused kernel (see fused.ts). */
function fusedAdamUpdate(items: readonly StepContext[], decoupled: boolean): boolean {
  if (!canFuse(FUSED_ADAM_KERNEL, items)) return false;
  // A weight with one moment but not the other (hand-edited state) is left to the unfused rule.
  if (
    items.some(
      ({ slots }) => (slots.get('exp_avg') === undefined) !== (slots.get('exp_avg_sq') === undefined),
    )
  ) {
    return false;
  }
  const inputs: Record<string, tf.Tensor> = {};
  const attrs = {
    count: items.length,
    hasM: [] as number[],
    beta1: [] as number[],
    beta2: [] as number[],
    coupledDecay: [] as number[],
    decayFactor: [] as number[],
    invSqrtBc2: [] as number[],
    eps: [] as number[],
    stepSize: [] as number[],
  };
  items.forEach(({ param, grad, hparams, step, slots }, i) => {
    const { lr, beta1, beta2, eps, weightDecay } = hparams as Record<
      'lr' | 'beta1' | 'beta2' | 'eps' | 'weightDecay',
      number
    >;
    inputs[`param${i}`] = param;
    inputs[`grad${i}`] = grad;
    const m = slots.get('exp_avg');
    const v = slots.get('exp_avg_sq');
    if (m !== undefined && v !== undefined) {
      inputs[`m${i}`] = m;
      inputs[`v${i}`] = v;
    }
    // The same host numbers adamUpdate turns into float32 scalars.
    attrs.hasM.push(m === undefined ? 0 : 1);
    attrs.beta1.push(beta1);
    attrs.beta2.push(beta2);
    attrs.coupledDecay.push(weightDecay !== 0 && !decoupled ? weightDecay : 0);
    attrs.decayFactor.push(weightDecay !== 0 && decoupled ? 1 - lr * weightDecay : 1);
    attrs.invSqrtBc2.push(1 / Math.sqrt(1 - beta2 ** step));
    attrs.eps.push(eps);
    attrs.stepSize.push(lr / (1 - beta1 ** step));
  });
  const out = runFused(FUSED_ADAM_KERNEL, inputs, attrs);
  items.forEach(({ param, slots }, i) => {
    param.assign(out[3 * i]!);
    slots.set('exp_avg', out[3 * i + 1]!);
    slots.set('exp_avg_sq', out[3 * i + 2]!);
  });
  return true;
}

/** β·avg + (1−β)·x, with a missing average read as zeros. */
export function decay(
  average: tf.Tensor | undefined,
  beta: number,
  x: tf.Tensor,
  scalar: (value: number) => tf.Scalar,
): tf.Tensor {
  const fresh = x.mul(scalar(1 - beta));
  return average === undefined ? fresh : average.mul(scalar(beta)).add(fresh);
}
