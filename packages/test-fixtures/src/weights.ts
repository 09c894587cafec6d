import type * as tf from '@tensorflow/tfjs';

/** Host copies of a model's weights, in `model.getWeights()` order. */
export function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

/** The largest absolute difference between two weight lists of the same layout. */
export function maxAbsDiff(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  let m = 0;
  a.forEach((arr, i) => {
    for (let j = 0; j < arr.length; j++) m = Math.max(m, Math.abs(arr[j]! - b[i]![j]!));
  });
  return m;
}
