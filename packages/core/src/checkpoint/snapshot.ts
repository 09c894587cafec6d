import * as tf from '@tensorflow/tfjs';
import { disposeMaps } from './trainer-checkpoint.js';
import type { CollectedState, TrainerStateJson } from './trainer-state.js';

/** An in-memory copy of a trainer's state (`trainer.snapshot()`); dispose it when done. */
export interface TrainerSnapshot {
  readonly json: TrainerStateJson;
  readonly weights: tf.NamedTensorMap;
  readonly slots: tf.NamedTensorMap;
  /** Plugin state tensors (`stateTensors()`), cloned. */
  readonly pluginTensors: tf.NamedTensorMap;
  dispose(): void;
}

const cloneMap = (map: tf.NamedTensorMap): tf.NamedTensorMap =>
  Object.fromEntries(Object.entries(map).map(([k, t]) => [k, tf.clone(t)]));

/** A snapshot of collected state: every tensor cloned on the device, the collection's own disposed. */
export function snapshotOf(state: CollectedState, model: tf.LayersModel): TrainerSnapshot {
  const slots = cloneMap(state.slots);
  const pluginTensors = cloneMap(state.pluginTensors);
  tf.dispose(state.owned);
  const weights: tf.NamedTensorMap = {};
  for (const w of model.weights) weights[w.originalName] = tf.clone(w.read());
  let disposed = false;
  return {
    json: state.json,
    weights,
    slots,
    pluginTensors,
    dispose: () => {
      if (disposed) return;
      disposed = true;
      disposeMaps(weights, slots, pluginTensors);
    },
  };
}
