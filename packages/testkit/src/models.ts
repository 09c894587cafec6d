import * as tf from '@tensorflow/tfjs';

// Every layer is named and every initializer seeded, so a model built in another process has the
// same weight names and values: what a checkpoint and the resume check rely on.

export interface TinyModelOptions {
  readonly inputs?: number;
  readonly hidden?: number;
  /** Initializer seed. Default 1. */
  readonly seed?: number;
}

/** Dense(relu) → Dense(softmax): `tk_hidden`, `tk_out`. Defaults: 4 inputs, 8 hidden, 3 classes. */
export function tinyClassifier(
  options: TinyModelOptions & { readonly classes?: number } = {},
): tf.Sequential {
  const { inputs = 4, hidden = 8, classes = 3, seed = 1 } = options;
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'tk_hidden',
        inputShape: [inputs],
        units: hidden,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        biasInitializer: tf.initializers.randomNormal({ seed: seed + 1, stddev: 0.1 }),
      }),
      tf.layers.dense({
        name: 'tk_out',
        units: classes,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
      }),
    ],
  });
}

/** Dense(relu) → Dense(linear, 1 unit): `tk_hidden`, `tk_out`. Defaults: 3 inputs, 8 hidden. */
export function tinyRegressor(options: TinyModelOptions = {}): tf.Sequential {
  const { inputs = 3, hidden = 8, seed = 1 } = options;
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'tk_hidden',
        inputShape: [inputs],
        units: hidden,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({
        name: 'tk_out',
        units: 1,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

/**
 * A small MNIST classifier with BatchNorm (so non-trainable statistics are part of the weights):
 * Dense(784 → hidden) → BatchNorm → relu → Dense(10, softmax), layers `hidden`, `bn`, `relu`, `out`.
 */
export function mnistMlp(options: { readonly hidden?: number; readonly seed?: number } = {}): tf.Sequential {
  const { hidden = 32, seed = 1 } = options;
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'hidden',
        inputShape: [784],
        units: hidden,
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.activation({ name: 'relu', activation: 'relu' }),
      tf.layers.dense({
        name: 'out',
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}
