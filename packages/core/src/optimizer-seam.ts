import type * as tf from '@tensorflow/tfjs';

/**
 * What the trainer needs from a tensorloop (name-keyed) optimizer. tfjs optimizers are accepted too;
 * they receive the fixed ordered variable list every step.
 */
export interface TensorloopOptimizerLike {
  readonly kind: 'tensorloop';
  bind(variables: readonly { readonly name: string; readonly variable: tf.Variable }[]): void;
  applyGradients(grads: ReadonlyMap<string, tf.Tensor>): void;
  /**
   * An update applied through a device step gate (`stepGate: 'device'`) was skipped on the device:
   * undo what it counted on the host (per-variable step counts) for these variables, `count` times. Optional; an
   * optimizer without host-side counters needs nothing.
   */
  discardSteps?(variables: readonly string[], count: number): void;
  dispose(): void;
}

export type AnyOptimizer = tf.Optimizer | TensorloopOptimizerLike;

export function isTensorloopOptimizer(opt: unknown): opt is TensorloopOptimizerLike {
  return typeof opt === 'object' && opt !== null && (opt as { kind?: unknown }).kind === 'tensorloop';
}
