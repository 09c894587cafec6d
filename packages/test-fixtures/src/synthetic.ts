import * as tf from '@tensorflow/tfjs';

/** Deterministic classification data: seeded random inputs labelled by a fixed random linear rule. */
export function classificationData(
  n: number,
  inputs = 4,
  classes = 3,
  seed = 7,
): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const x = tf.randomNormal([n, inputs], 0, 1, 'float32', seed) as tf.Tensor2D;
    const w = tf.randomNormal([inputs, classes], 0, 1, 'float32', seed + 1);
    const labels = tf.argMax(tf.matMul(x, w), 1);
    return { x, y: tf.oneHot(labels, classes).toFloat() as tf.Tensor2D };
  });
}
