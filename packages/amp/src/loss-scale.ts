import * as tf from '@tensorflow/tfjs';
import type { GradientMap } from '@tensorloop/core';

/** The loss-scaling rule, resolved from the options. */
export interface ScaleRule {
  /** `false` for a static scale (`lossScale: number`): it never changes. */
  readonly dynamic: boolean;
  readonly initialScale: number;
  readonly growthInterval: number;
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly minScale: number;
}

/** Host copies of the device state, as of the last read-back. */
export interface ScaleReading {
  readonly scale: number;
  readonly skippedEpoch: number;
  readonly skippedTotal: number;
  /** The step at which the scale collapsed (an overflow at `minScale`), or −1. */
  readonly collapseStep: number;
}

export const NO_READING: Omit<ScaleReading, 'scale'> = { skippedEpoch: 0, skippedTotal: 0, collapseStep: -1 };

/** The state tensors (checkpoints) and their shapes. */
export const STATE_SHAPES = {
  /** The loss scale. */
  scale: [],
  /** Finite steps in a row since the last growth or overflow. */
  goodSteps: [],
  /** Skipped steps: [in the whole run, in this epoch]. */
  skipped: [2],
  /** The step at which the scale collapsed, or −1. */
  collapseStep: [],
} as const satisfies Record<string, readonly number[]>;
export type StateTensorName = keyof typeof STATE_SHAPES;

/**
 * The loss scale and its counters, all on the device (float32: counts stay exact up to 2²⁴), so that
 * scaling, the overflow check and the update of the scale never need the host. The rule is Keras's
 * `LossScaleOptimizer` and PyTorch's `GradScaler`: on inf/NaN the step is skipped and the scale is
 * multiplied by `backoffFactor` (not below `minScale`); after `growthInterval` finite steps in a row
 * it is multiplied by `growthFactor` (never past the largest power of two the storage holds, where a
 * growth would stop being finite). Each step's update is about twenty kernel calls on scalars, with
 * every constant made once: on wasm a scalar kernel costs tens of microseconds.
 */
export class LossScale {
  private readonly vars: Record<StateTensorName, tf.Variable>;
  private readonly constants: Record<
    'one' | 'zero' | 'interval' | 'growth' | 'backoff' | 'min' | 'cap',
    tf.Scalar
  >;

  /**
   * `elementwiseCheck`: check `isFinite` per element instead of per gradient sum (for storage in half
   * precision, where a sum of finite values easily passes 65504).
   */
  constructor(
    readonly rule: ScaleRule,
    private readonly elementwiseCheck = false,
  ) {
    const variable = (values: number[], shape: readonly number[]) =>
      tf.tidy(() => tf.variable(tf.tensor(values, [...shape]), false));
    this.vars = {
      scale: variable([rule.initialScale], STATE_SHAPES.scale),
      goodSteps: variable([0], STATE_SHAPES.goodSteps),
      skipped: variable([0, 0], STATE_SHAPES.skipped),
      collapseStep: variable([-1], STATE_SHAPES.collapseStep),
    };
    const constant = (value: number) => tf.keep(tf.scalar(value));
    this.constants = {
      one: constant(1),
      zero: constant(0),
      interval: constant(rule.growthInterval),
      growth: constant(rule.growthFactor),
      backoff: constant(rule.backoffFactor),
      min: constant(rule.minScale),
      // Half-precision storage holds at most 65504: its largest power of two is 2^15.
      cap: constant(elementwiseCheck ? 2 ** 15 : 2 ** 127),
    };
  }

  /** The loss to differentiate: `loss × scale` (call inside the step). */
  scaleLoss(loss: tf.Scalar): tf.Scalar {
    return tf.mul(loss, this.vars.scale) as tf.Scalar;
  }

  /** Gradients of the scaled loss back to the gradients of the loss: `g / scale`. */
  unscale(grads: GradientMap): GradientMap {
    const out: GradientMap = new Map();
    for (const [name, g] of grads) out.set(name, tf.div(g, this.vars.scale));
    return out;
  }

  /**
   * The step's overflow check and the scale's update, on the device: returns "every gradient is
   * finite" (the step gate). `step` is recorded if this step collapses the scale: an overflow with
   * the scale already at `minScale`, where backing off cannot help.
   */
  update(grads: ReadonlyMap<string, tf.Tensor>, step: number): tf.Scalar {
    const { scale, goodSteps, skipped, collapseStep } = this.vars;
    const k = this.constants;
    const finite = this.elementwiseCheck ? allFiniteElementwise(grads) : allFinite(grads);
    const overflow = tf.logicalNot(finite);
    skipped.assign(tf.add(skipped, tf.cast(overflow, 'float32')));
    if (!this.rule.dynamic) return finite;
    const good = tf.add(goodSteps, k.one);
    const grow = tf.logicalAnd(finite, tf.greaterEqual(good, k.interval));
    const factor = select(finite, select(grow, k.growth, k.one), k.backoff);
    const collapsed = tf.logicalAnd(
      tf.logicalAnd(overflow, tf.lessEqual(scale, k.min)),
      tf.less(collapseStep, k.zero),
    );
    collapseStep.assign(select(collapsed, tf.scalar(step), collapseStep));
    scale.assign(tf.minimum(tf.maximum(tf.mul(scale, factor), k.min), k.cap));
    // The count restarts after an overflow and after a growth.
    goodSteps.assign(select(tf.logicalAnd(finite, tf.logicalNot(grow)), good, k.zero));
    return finite;
  }

  /** A new epoch: its skipped-step count starts at 0 (a device write, no read-back). */
  startEpoch(): void {
    tf.tidy(() => this.vars.skipped.assign(tf.mul(this.vars.skipped, tf.tensor1d([1, 0]))));
  }

  /** The device values a read-back brings to the host, as scalars (call inside a tidy). */
  readbackTensors(): Record<keyof ScaleReading, tf.Scalar> {
    const { scale, skipped, collapseStep } = this.vars;
    const at = (t: tf.Tensor, i: number) => tf.reshape(tf.slice(t, [i], [1]), []) as tf.Scalar;
    return {
      scale: scale as tf.Scalar,
      skippedTotal: at(skipped, 0),
      skippedEpoch: at(skipped, 1),
      collapseStep: collapseStep as tf.Scalar,
    };
  }

  /** The live state tensors (checkpoints; owned here). */
  tensors(): Record<StateTensorName, tf.Tensor> {
    return { ...this.vars };
  }

  /** Restore checked state values. */
  restore(values: Readonly<Record<StateTensorName, readonly number[]>>): void {
    tf.tidy(() => {
      for (const name of Object.keys(STATE_SHAPES) as StateTensorName[]) {
        this.vars[name].assign(tf.tensor([...values[name]], [...STATE_SHAPES[name]]));
      }
    });
  }

  dispose(): void {
    for (const v of Object.values(this.vars)) v.dispose();
    for (const c of Object.values(this.constants)) c.dispose();
  }
}

/**
 * `tf.where` for scalars of one shape, as one kernel: `tf.where` broadcasts (clones) both branches
 * first, two more kernel calls each time, and the update above makes several of them every step.
 */
function select(condition: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel('Select', { condition, t: a, e: b }) as tf.Tensor;
}

/**
 * True (a bool scalar) when every element of every gradient is finite. One reduction per gradient:
 * an Infinity or NaN anywhere makes its sum non-finite (∞ − ∞ is NaN), so the check is exact for
 * inf/NaN; it would also call a step non-finite whose finite gradients sum past float32's 3.4e38,
 * which no trainable model produces. (Keras reduces `is_finite` per element: a second pass.)
 */
export function allFinite(grads: ReadonlyMap<string, tf.Tensor>): tf.Scalar {
  const sums = [...grads.values()].map((g) => tf.sum(g));
  if (sums.length === 0) return tf.scalar(true, 'bool');
  return tf.isFinite(sums.length === 1 ? sums[0]! : tf.addN(sums)) as tf.Scalar;
}

/** The same, element by element (Keras's `_is_all_finite`): for half-precision storage. */
export function allFiniteElementwise(grads: ReadonlyMap<string, tf.Tensor>): tf.Scalar {
  const checks = [...grads.values()].map((g) => tf.all(tf.isFinite(g)));
  if (checks.length === 0) return tf.scalar(true, 'bool');
  return (checks.length === 1 ? checks[0]! : tf.all(tf.stack(checks))) as tf.Scalar;
}

/** Reading of the state from read-back values (missing keys keep the previous reading). */
export function readingOf(values: Readonly<Record<string, number>>, previous: ScaleReading): ScaleReading {
  return {
    scale: values.scale ?? previous.scale,
    skippedEpoch: values.skippedEpoch ?? previous.skippedEpoch,
    skippedTotal: values.skippedTotal ?? previous.skippedTotal,
    collapseStep: values.collapseStep ?? previous.collapseStep,
  };
}
