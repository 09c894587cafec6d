import type * as tf from '@tensorflow/tfjs';

/**
 * What the trainer needs from a tensorloop (name-keyed) optimizer. tfjs optimizers are accepted too;
 * they receive the fixed ordered variable list every step.
 */
export interface TensorloopOptimizerLike {
  readonly kind: 'tensorloop';
  bind(variables: readonly { readonly name: string; readonly variable: tf.Variable }[]): void;
  applyGradients(grads: ReadonlyMap<string, tf.Tensor>): void;
  dispose(): void;
}

export type AnyOptimizer = tf.Optimizer | TensorloopOptimizerLike;

export function isTensorloopOptimizer(opt: unknown): opt is TensorloopOptimizerLike {
  return typeof opt === 'object' && opt !== null && (opt as { kind?: unknown }).kind === 'tensorloop';
}
