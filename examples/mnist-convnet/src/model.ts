import * as tf from '@tensorflow/tfjs';

/**
 * tfjs-examples mnist-node's convnet (`model.js`), compiled as there (`'rmsprop'`,
 * categorical cross-entropy, accuracy), narrower so CI trains it in seconds: 8/8/16/16 filters and
 * a 128-unit dense layer instead of 32/32/64/64 and 512. Seeded initializers: two models built with
 * one seed start from the same weights.
 */
export function createModel(seed = 1): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 100 + k });
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape: [28, 28, 1],
      filters: 8,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: init(1),
    }),
  );
  model.add(tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }));
  model.add(tf.layers.maxPooling2d({ poolSize: [2, 2] }));
  model.add(tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: init(3) }));
  model.add(tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: init(4) }));
  model.add(tf.layers.maxPooling2d({ poolSize: [2, 2] }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dropout({ rate: 0.25 }));
  model.add(tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init(5) }));
  model.add(tf.layers.dropout({ rate: 0.5 }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(6) }));
  model.compile({ optimizer: 'rmsprop', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** The run's sizes: 2,000 training digits (15% of them validate), 1,000 test digits. */
export const RUN = { epochs: 4, batchSize: 64, validationSplit: 0.15, trainPerClass: 200, testPerClass: 100 };
