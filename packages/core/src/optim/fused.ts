import * as tf from '@tensorflow/tfjs';
import type { StepContext } from './optimizer.js';

/**
 * Fused updates: a backend may register one kernel that updates every weight of an
 * `applyGradients` call at once (`@tensorloop/backend-wasm` does for 'wasm'). Core never imports
 * a backend package; it looks the kernel up by name at each step and otherwise runs its op-by-op
 * update. The names, inputs and attributes are a contract with the backend package, which must
 * compute exactly what the op-by-op update computes, operation by operation in float32:
 *
 * - inputs `param<i>` and `grad<i>` per weight, plus its existing slots (`m<i>`/`v<i>` for Adam,
 *   `buffer<i>` for SGD with momentum); attrs: `count` and one number per weight in arrays;
 * - outputs, flat: Adam `[param', m', v']` per weight; SGD `param'` per weight, each followed by
 *   its new `buffer'` when its momentum is not 0.
 */
export const FUSED_ADAM_KERNEL = 'TensorloopFusedAdam';
export const FUSED_SGD_KERNEL = 'TensorloopFusedSgd';

/** The backend has the kernel and every weight/gradient pair is float32 of one shape. */
export function canFuse(kernelName: string, items: readonly StepContext[]): boolean {
  if (items.length === 0 || tf.getKernel(kernelName, tf.getBackend()) === undefined) return false;
  return items.every(
    ({ param, grad }) =>
      param.dtype === 'float32' && grad.dtype === 'float32' && tf.util.arraysEqual(param.shape, grad.shape),
  );
}

export function runFused(
  kernelName: string,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, number | number[]>,
): tf.Tensor[] {
  const out = tf.engine().runKernel(kernelName, inputs, attrs);
  return Array.isArray(out) ? out : [out];
}
