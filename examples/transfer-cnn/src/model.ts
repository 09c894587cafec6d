import * as tf from '@tensorflow/tfjs';

/**
 * The convnet of tfjs-examples mnist-transfer-cnn (Keras's mnist_transfer_cnn.py): feature layers
 * (conv, conv, pool, dropout, flatten) and classifier layers (dense, dropout, dense over 5 classes),
 * compiled with `'adam'` as there. Narrower so CI trains it in seconds: 8 filters and a 32-unit dense
 * layer instead of 32 and 128. Seeded initializers: two models built with one seed start alike.
 */
export function createModel(seed = 1): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 100 + k });
  const features = [
    tf.layers.conv2d({
      inputShape: [28, 28, 1],
      filters: 8,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: init(1),
    }),
    tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.dropout({ rate: 0.25 }),
    tf.layers.flatten(),
  ];
  const classifier = [
    tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: init(3) }),
    tf.layers.dropout({ rate: 0.5 }),
    tf.layers.dense({ units: 5, activation: 'softmax', kernelInitializer: init(4) }),
  ];
  const model = tf.sequential({ layers: [...features, ...classifier] });
  compile(model);
  return model;
}

/** What the tfjs example does before each stage (a new optimizer; a changed `trainable` takes effect). */
export function compile(model: tf.LayersModel): void {
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
}

/** The tfjs example's transfer step: freeze the feature layers (the first five). */
export function freezeFeatures(model: tf.LayersModel): void {
  for (const layer of model.layers.slice(0, 5)) layer.trainable = false;
}

export const BASE = [0, 1, 2, 3, 4];
export const NEW = [5, 6, 7, 8, 9];
/** Sizes: 1,500 digits 0–4 for the base stage, 1,000 digits 5–9 for the transfer, 500 of each to test. */
export const RUN = {
  baseEpochs: 3,
  transferEpochs: 8,
  batchSize: 64,
  validationSplit: 0.15,
  basePerClass: 300,
  transferPerClass: 200,
  testPerClass: 100,
};
