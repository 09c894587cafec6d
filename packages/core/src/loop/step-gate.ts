import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from '../errors.js';
import { type AnyOptimizer, isTensorloopOptimizer } from '../optimizer-seam.js';

/**
 * How a gated optimizer step (a plugin's `transformStepGate`, e.g. AMP's overflow check) is skipped:
 * `'host'` reads the gate (one bool scalar) before the update and skips it on the host; `'device'`
 * applies the update through `where(gate, new, old)` without reading anything; `'auto'` picks by
 * backend.
 */
export type StepGateOption = 'auto' | 'host' | 'device';
export type StepGateMode = 'host' | 'device';

/**
 * Backends whose kernels have run by the time the step returns, so reading one scalar back is a
 * memory read, not a pipeline stall: cpu, wasm, and tfjs-node (TensorFlow's eager C API).
 */
const SYNCHRONOUS_BACKENDS: ReadonlySet<string> = new Set(['cpu', 'wasm', 'tensorflow']);

export function checkStepGateOption(value: unknown): StepGateOption {
  if (value === undefined) return 'auto';
  if (value === 'auto' || value === 'host' || value === 'device') return value;
  throw new TensorloopError(
    'TL_OPTION_INVALID',
    `stepGate must be 'auto', 'host' or 'device', got ${JSON.stringify(value)}.`,
  );
}

/** `'auto'`: host on the synchronous backends (cpu, wasm, tfjs-node), device on the others (WebGL, WebGPU). */
export function resolveStepGateMode(option: StepGateOption, backend: string): StepGateMode {
  if (option !== 'auto') return option;
  return SYNCHRONOUS_BACKENDS.has(backend) ? 'host' : 'device';
}

/** A step applied through a device gate whose outcome the host learns at the next read-back. */
export interface PendingGate {
  /** The gate (bool scalar), kept: disposed when it is reconciled. */
  readonly flag: tf.Scalar;
  /** The weights the optimizer updated, whose per-variable step counts go back if it was skipped. */
  readonly variables: readonly string[];
}

/**
 * Run `apply` (one optimizer update) so that every variable it assigns keeps its old value where
 * `gate` is false: each `assign(value)` becomes `assign(where(gate, value, old))`. This reaches the
 * slots of any optimizer, including tfjs ones, whose slots are positional, private and created
 * lazily inside `applyGradients`: a slot created by this call keeps its creation value (zeros, or
 * Adagrad's initial accumulator) when the gate is false. `Variable.assign` is intercepted only for
 * the duration of the call, which is synchronous, so nothing else can run in between.
 */
export function applyGated(gate: tf.Scalar, apply: () => void): void {
  const proto = tf.Variable.prototype;
  const assign = proto.assign;
  // One broadcast of the gate per shape (Adam assigns a weight and its two slots of the same shape).
  const conditions = new Map<string, tf.Tensor>();
  const conditionFor = (shape: readonly number[]): tf.Tensor => {
    const key = shape.join(',');
    let condition = conditions.get(key);
    if (condition === undefined) {
      condition = tf.keep(tf.broadcastTo(gate, [...shape]));
      conditions.set(key, condition);
    }
    return condition;
  };
  proto.assign = function gatedAssign(this: tf.Variable, value: tf.Tensor): void {
    assign.call(this, tf.where(conditionFor(value.shape), value, this));
  };
  try {
    apply();
  } finally {
    proto.assign = assign;
    for (const c of conditions.values()) c.dispose();
  }
}

/**
 * `count` steps over `variables` were counted but skipped on the device: give the optimizer's own
 * counters back (a core optimizer's per-variable step counts; a tfjs optimizer's iteration count,
 * from which its Adam rebuilds the bias correction when state is restored).
 */
export function discardOptimizerSteps(
  optimizer: AnyOptimizer,
  variables: readonly string[],
  count: number,
): void {
  if (count <= 0) return;
  if (isTensorloopOptimizer(optimizer)) {
    optimizer.discardSteps?.(variables, count);
    return;
  }
  const counted = optimizer as unknown as { iterations_?: number };
  if (typeof counted.iterations_ === 'number') counted.iterations_ = Math.max(0, counted.iterations_ - count);
}
