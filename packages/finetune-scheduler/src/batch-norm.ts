import type * as tf from '@tensorflow/tfjs';

interface LayerLike {
  readonly layers?: LayerLike[];
  getClassName(): string;
  call(inputs: unknown, kwargs: unknown): unknown;
}

function* leafLayers(layers: readonly LayerLike[]): Generator<LayerLike> {
  for (const layer of layers) {
    if (Array.isArray(layer.layers)) yield* leafLayers(layer.layers);
    else yield layer;
  }
}

/**
 * `frozenBatchNorm: 'track'`: frozen BatchNormalization layers run as tfjs runs them (batch
 * statistics while training, moving statistics updated), as FTS's `frozen_bn_track_running_stats`.
 * Core makes frozen BN layers infer by giving each one an own `call` that forces `training: false`
 * when its weights are frozen; this calls the class's `call` instead, until the returned function
 * puts core's back. Gamma and beta stay frozen (they get no gradient).
 */
export function trackFrozenBatchNorm(model: tf.LayersModel): () => void {
  const undo: (() => void)[] = [];
  for (const layer of leafLayers(model.layers as unknown as LayerLike[])) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    if (!Object.hasOwn(layer, 'call')) continue; // not patched: tfjs already tracks
    const own = layer.call;
    const classCall = (Object.getPrototypeOf(layer) as LayerLike).call;
    layer.call = (inputs, kwargs) => classCall.call(layer, inputs, kwargs);
    undo.push(() => {
      layer.call = own;
    });
  }
  return () => {
    for (const f of undo) f();
  };
}
