import type * as tf from '@tensorflow/tfjs';
import type { LayerPrecision } from './precision-plan.js';
import { roundingIdentity } from './rounding.js';

/**
 * Half-precision emulation of a model's forward and backward pass. Each layer the plan rounds gets
 * its inputs, its weights (as the layer reads them, during its own call only) and its output passed
 * through a rounding identity, whose gradient is rounded too: the pass computes on float16 (or
 * bfloat16) values and its gradients underflow exactly where a GPU's would, while the variables the
 * optimizer updates stay float32 (the master weights). The patches stay on the layers but do nothing
 * while `active` is false (the amp plugin turns it on for fits and evaluations only), so
 * `model.getWeights()`, checkpoints and `predict()` outside a fit see the float32 masters.
 */
export class PrecisionEmulator {
  active = false;
  readonly round: (x: tf.Tensor) => tf.Tensor;

  constructor(readonly precision: 'float16' | 'bfloat16') {
    this.round = roundingIdentity(precision);
  }

  /** Patch the layers the plan rounds (each layer once; a later emulator takes a layer over). */
  install(plan: readonly LayerPrecision[]): void {
    for (const entry of plan) {
      if (entry.compute !== 'float32') patchLayer(entry.target, { emulator: this, entry });
    }
  }
}

interface Owner {
  readonly emulator: PrecisionEmulator;
  readonly entry: LayerPrecision;
}

interface Activation {
  getClassName(): string;
  apply(x: tf.Tensor, axis?: number): tf.Tensor;
}

type CallFn = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

const OWNERS = new WeakMap<tf.layers.Layer, Owner>();

function mapFloat(x: tf.Tensor | tf.Tensor[], round: (t: tf.Tensor) => tf.Tensor): tf.Tensor | tf.Tensor[] {
  const one = (t: tf.Tensor) => (t.dtype === 'float32' ? round(t) : t);
  return Array.isArray(x) ? x.map(one) : one(x);
}

/** The activation run in float32 on the rounded pre-activation (softmax kept in float32). */
function float32Activation(act: Activation, round: (t: tf.Tensor) => tf.Tensor): Activation {
  return { getClassName: () => act.getClassName(), apply: (x, axis) => act.apply(round(x), axis) };
}

function patchLayer(layer: tf.layers.Layer, owner: Owner): void {
  const patched = OWNERS.has(layer);
  OWNERS.set(layer, owner);
  if (patched) return;
  const target = layer as unknown as { call: CallFn; activation?: Activation };
  const original = target.call;
  let depth = 0;
  target.call = function emulatedCall(this: unknown, inputs, kwargs) {
    const current = OWNERS.get(layer);
    if (!current?.emulator.active) return original.call(this, inputs, kwargs);
    const { emulator, entry } = current;
    const act = target.activation;
    const keepActivation = entry.float32Activation !== undefined && act !== undefined;
    if (keepActivation) target.activation = float32Activation(act, emulator.round);
    depth += 1;
    try {
      const out = original.call(this, entry.roundsInputs ? mapFloat(inputs, emulator.round) : inputs, kwargs);
      return keepActivation ? out : mapFloat(out, emulator.round);
    } finally {
      depth -= 1;
      if (keepActivation) target.activation = act;
    }
  };
  for (const weight of layer.weights) {
    const variable = weight as unknown as { read(): tf.Tensor };
    const read = variable.read;
    // Rounded only while this layer computes: anyone else reading the weight gets the float32 master.
    variable.read = function emulatedRead(this: unknown) {
      const value = read.call(this);
      const current = OWNERS.get(layer);
      return depth > 0 && current?.emulator.active ? current.emulator.round(value) : value;
    };
  }
}
