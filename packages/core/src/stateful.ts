import type * as tf from '@tensorflow/tfjs';

/**
 * What resets a model's stateful layers (RNNs with `stateful: true`), called at each epoch start and
 * before validation and `evaluate()` with `resetStates: 'epoch'`; a no-op for models without state
 * or with `'never'`.
 */
export function stateResetter(model: tf.LayersModel, mode: 'epoch' | 'never'): () => void {
  const stateful = (model as unknown as { stateful?: boolean }).stateful === true;
  return mode === 'epoch' && stateful ? () => model.resetStates() : () => {};
}
