import type * as tf from '@tensorflow/tfjs';
import { describeValue } from './describe-value.js';
import { TensorloopError } from './errors.js';
import { compileMatcher } from './optim/param-groups.js';
import type { ParamMatcher } from './optim/types.js';
import type { TrainableWeight } from './variables.js';

/** One row of `trainer.parameters()`. */
export interface ParameterInfo {
  /** The weight's `originalName`. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly trainable: boolean;
  /** The param group of a tensorloop optimizer (`'default'` for tfjs optimizers). */
  readonly group: string;
}

/**
 * Toggle `trainable` on the weights whose names match (DESIGN §8). The fixed weight list never
 * changes, so optimizer state stays aligned; a frozen weight's slots are kept untouched.
 * Returns the names it changed; a pattern that matches no weight is an error (a typo would
 * otherwise silently train everything).
 */
export function setTrainable(
  weights: readonly TrainableWeight[],
  pattern: ParamMatcher,
  trainable: boolean,
): string[] {
  const matches = compileMatcher(pattern, trainable ? 'unfreeze()' : 'freeze()');
  const selected = weights.filter((w) => matches(w.name));
  if (selected.length === 0) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `${trainable ? 'unfreeze' : 'freeze'}(${describeValue(pattern)}) matches no weight. Weight names look like: ${weights
        .slice(0, 6)
        .map((w) => w.name)
        .join(', ')}${weights.length > 6 ? ', …' : ''} (see trainer.parameters()).`,
    );
  }
  const changed: string[] = [];
  for (const w of selected) {
    if (w.layerVariable.trainable !== trainable) changed.push(w.name);
    w.layerVariable.trainable = trainable;
  }
  return changed;
}

interface BatchNormLike {
  readonly name: string;
  trainable: boolean;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
  getClassName(): string;
  readonly layers?: BatchNormLike[];
}

function* leafLayers(layers: readonly BatchNormLike[]): Generator<BatchNormLike> {
  for (const layer of layers) {
    if (Array.isArray(layer.layers)) yield* leafLayers(layer.layers);
    else yield layer;
  }
}

const PATCHED = Symbol.for('tensorloop.frozenBatchNorm');

/**
 * Keras semantics for frozen BatchNormalization: when the layer, or all of its trainable weights,
 * are frozen, it runs in inference mode (moving statistics are used and no longer updated).
 * tfjs keeps updating them otherwise (research/tfjs.md §7). Patches each BN layer's `call` once.
 */
export function makeFrozenBatchNormInfer(model: tf.LayersModel, weights: readonly TrainableWeight[]): number {
  let patched = 0;
  for (const layer of leafLayers(model.layers as unknown as BatchNormLike[])) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const holder = layer as unknown as Record<symbol, boolean>;
    if (holder[PATCHED]) continue;
    const own = weights.filter((w) => w.name.startsWith(`${layer.name}/`));
    const original = layer.call.bind(layer);
    layer.call = (inputs, kwargs) => {
      const frozen = !layer.trainable || (own.length > 0 && own.every((w) => !w.layerVariable.trainable));
      return original(inputs, frozen ? { ...kwargs, training: false } : kwargs);
    };
    holder[PATCHED] = true;
    patched += 1;
  }
  return patched;
}
