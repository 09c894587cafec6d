import * as tf from '@tensorflow/tfjs';

/**
 * A small convnet: two conv blocks (the "body") and a dense classifier over all 10 digits (the
 * "head"). Named layers give stable weight names (param groups, freezing, checkpoints).
 */
export function convnet(seed = 7): tf.LayersModel {
  let s = seed;
  const init = () => tf.initializers.heNormal({ seed: s++ });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        name: 'conv1',
        inputShape: [28, 28, 1],
        filters: 16,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(),
      }),
      tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
      tf.layers.conv2d({
        name: 'conv2',
        filters: 32,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(),
      }),
      tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
      tf.layers.flatten({ name: 'flatten' }),
      tf.layers.dropout({ name: 'dropout', rate: 0.25, seed: s++ }),
      tf.layers.dense({
        name: 'head',
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: s++ }),
      }),
    ],
  });
}
