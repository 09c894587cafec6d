import type * as tf from '@tensorflow/tfjs';
import { TensorloopError } from './errors.js';

/** The parts of tfjs-layers' LayerVariable we use (not exported as a type by @tensorflow/tfjs). */
export interface LayerVariableLike {
  readonly originalName: string;
  trainable: boolean;
  read(): tf.Variable;
}

interface LayerLike {
  readonly name: string;
  trainable: boolean;
  readonly layers?: LayerLike[];
}

/** One weight that can ever be trained, in the trainer's fixed order. */
export interface TrainableWeight {
  /** The weight's `originalName` (`dense_Dense1/kernel`): stable across processes. */
  readonly name: string;
  readonly layerVariable: LayerVariableLike;
  /** The core variable optimizers update (its `name` may carry a `_1` suffix). */
  readonly variable: tf.Variable;
}

function allLayers(layers: readonly LayerLike[], out: LayerLike[] = []): LayerLike[] {
  for (const layer of layers) {
    out.push(layer);
    if (Array.isArray(layer.layers)) allLayers(layer.layers, out);
  }
  return out;
}

/**
 * The fixed, ordered list of every weight that can ever be trained (DESIGN §3), created once per
 * model: the model's trainable weights as if nothing were frozen. BatchNorm moving statistics are
 * never in it. Freezing later only toggles `trainable` on these; the list never changes, so tfjs
 * optimizers (which key their slots by position) always see the same variables in the same order.
 */
export function collectTrainableWeights(model: tf.LayersModel): TrainableWeight[] {
  const layers = allLayers(model.layers as unknown as LayerLike[]);
  const saved = layers.map((l) => l.trainable);
  const savedModel = (model as unknown as LayerLike).trainable;
  let weights: LayerVariableLike[];
  try {
    for (const l of layers) l.trainable = true;
    weights = model.trainableWeights as unknown as LayerVariableLike[];
  } finally {
    // Outermost first: a container's `trainable` setter rewrites its children's weight flags.
    (model as unknown as LayerLike).trainable = savedModel;
    for (let i = 0; i < layers.length; i++) layers[i]!.trainable = saved[i]!;
  }
  const seen = new Set<string>();
  return weights.map((lv) => {
    if (seen.has(lv.originalName)) {
      throw new TensorloopError(
        'TL_MODEL_INVALID',
        `Two weights of the model are named "${lv.originalName}". Weight names key optimizer state, freezing and checkpoints; give the layers distinct names.`,
      );
    }
    seen.add(lv.originalName);
    return { name: lv.originalName, layerVariable: lv, variable: lv.read() };
  });
}
