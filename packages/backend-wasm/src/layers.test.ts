import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { type LayerCase, layerGradientsOn, maxAbs, relativeError } from './test-helpers.js';

/**
 * Training gradients of every layer family on wasm (with this package) equal the cpu backend's:
 * same weights, same inputs, `tf.variableGrads` of a loss in training mode. A layer is placed
 * after another trainable layer where possible so its input gradient is exercised too.
 */

const conv2d = (config: Parameters<typeof tf.layers.conv2d>[0]) => tf.layers.conv2d(config);
const stem = (input: number[]) => conv2d({ filters: 3, kernelSize: 1, inputShape: input });

const cases: LayerCase[] = [
  {
    name: 'dense relu → dense',
    input: [6],
    layers: () => [tf.layers.dense({ units: 8, activation: 'relu', inputShape: [6] })],
  },
  {
    name: 'dense without bias, tanh',
    input: [5],
    layers: () => [tf.layers.dense({ units: 4, useBias: false, activation: 'tanh', inputShape: [5] })],
  },
  {
    name: 'conv1d k3 stride 1 same',
    input: [12, 2],
    layers: () => [
      tf.layers.conv1d({ filters: 3, kernelSize: 1, inputShape: [12, 2] }),
      tf.layers.conv1d({ filters: 4, kernelSize: 3, padding: 'same' }),
    ],
  },
  {
    name: 'conv1d k5 stride 2 valid',
    input: [15, 3],
    layers: () => [
      tf.layers.conv1d({ filters: 2, kernelSize: 1, inputShape: [15, 3] }),
      tf.layers.conv1d({ filters: 4, kernelSize: 5, strides: 2, padding: 'valid', activation: 'relu' }),
    ],
  },
  {
    name: 'conv2d 3x3 stride 1 same',
    input: [8, 8, 2],
    layers: () => [
      stem([8, 8, 2]),
      conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
    ],
  },
  {
    name: 'conv2d 3x3 stride 2 valid',
    input: [9, 8, 2],
    layers: () => [stem([9, 8, 2]), conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid' })],
  },
  {
    name: 'conv2d 5x5 stride 2 same',
    input: [11, 10, 1],
    layers: () => [stem([11, 10, 1]), conv2d({ filters: 3, kernelSize: 5, strides: 2, padding: 'same' })],
  },
  {
    name: 'conv2d 2x3 strides (2,1) same, no bias',
    input: [8, 7, 3],
    layers: () => [
      stem([8, 7, 3]),
      conv2d({ filters: 5, kernelSize: [2, 3], strides: [2, 1], padding: 'same', useBias: false }),
    ],
  },
  {
    name: 'conv2d 1x1 on the raw input',
    input: [5, 5, 3],
    layers: () => [conv2d({ filters: 4, kernelSize: 1, inputShape: [5, 5, 3] })],
  },
  {
    name: 'conv2d channelsFirst 3x3 stride 2 same',
    input: [2, 8, 8],
    layers: () => [
      conv2d({ filters: 3, kernelSize: 1, dataFormat: 'channelsFirst', inputShape: [2, 8, 8] }),
      conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', dataFormat: 'channelsFirst' }),
    ],
  },
  {
    name: 'conv2dTranspose 3x3 stride 2 same',
    input: [5, 5, 2],
    layers: () => [
      stem([5, 5, 2]),
      tf.layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }),
    ],
  },
  {
    name: 'depthwiseConv2d 3x3 mult 1 stride 1 same',
    input: [8, 8, 2],
    layers: () => [stem([8, 8, 2]), tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' })],
  },
  {
    name: 'depthwiseConv2d 3x3 mult 2 stride 2 valid',
    input: [9, 9, 2],
    layers: () => [
      stem([9, 9, 2]),
      tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'valid' }),
    ],
  },
  {
    name: 'separableConv2d 3x3 mult 1 same',
    input: [8, 8, 2],
    layers: () => [
      stem([8, 8, 2]),
      tf.layers.separableConv2d({ filters: 4, kernelSize: 3, padding: 'same' }),
    ],
  },
  {
    name: 'separableConv2d 3x3 mult 2 stride 2 same',
    input: [9, 8, 2],
    layers: () => [
      stem([9, 8, 2]),
      tf.layers.separableConv2d({
        filters: 4,
        kernelSize: 3,
        depthMultiplier: 2,
        strides: 2,
        padding: 'same',
      }),
    ],
  },
  {
    name: 'maxPooling2d 2x2',
    input: [8, 8, 2],
    layers: () => [stem([8, 8, 2]), tf.layers.maxPooling2d({ poolSize: 2 })],
  },
  {
    name: 'maxPooling2d 3x3 stride 2 same',
    input: [9, 7, 2],
    layers: () => [stem([9, 7, 2]), tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' })],
  },
  {
    name: 'averagePooling2d 2x2',
    input: [8, 8, 2],
    layers: () => [stem([8, 8, 2]), tf.layers.averagePooling2d({ poolSize: 2 })],
  },
  {
    name: 'averagePooling2d 3x3 stride 2 same',
    input: [9, 7, 2],
    layers: () => [stem([9, 7, 2]), tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' })],
  },
  {
    name: 'maxPooling1d and averagePooling1d',
    input: [12, 2],
    layers: () => [
      tf.layers.conv1d({ filters: 3, kernelSize: 1, inputShape: [12, 2] }),
      tf.layers.maxPooling1d({ poolSize: 2 }),
      tf.layers.averagePooling1d({ poolSize: 3, strides: 1, padding: 'same' }),
    ],
  },
  {
    name: 'globalAveragePooling2d / globalMaxPooling2d',
    input: [6, 6, 2],
    layers: () => [stem([6, 6, 2]), tf.layers.globalAveragePooling2d({})],
  },
  {
    name: 'batchNormalization after conv',
    input: [6, 6, 2],
    layers: () => [stem([6, 6, 2]), tf.layers.batchNormalization()],
  },
  {
    name: 'batchNormalization after dense',
    input: [5],
    layers: () => [tf.layers.dense({ units: 6, inputShape: [5] }), tf.layers.batchNormalization()],
  },
  {
    name: 'dropout (seeded) after dense',
    input: [6],
    layers: () => [tf.layers.dense({ units: 8, inputShape: [6] }), tf.layers.dropout({ rate: 0.4, seed: 3 })],
  },
  {
    name: 'embedding',
    input: [5],
    intRange: 7,
    layers: () => [tf.layers.embedding({ inputDim: 7, outputDim: 4, inputLength: 5 })],
  },
  {
    name: 'embedding → lstm',
    input: [6],
    intRange: 9,
    layers: () => [
      tf.layers.embedding({ inputDim: 9, outputDim: 3, inputLength: 6 }),
      tf.layers.lstm({ units: 4 }),
    ],
  },
  {
    name: 'lstm returnSequences',
    input: [5, 3],
    layers: () => [tf.layers.lstm({ units: 4, returnSequences: true, inputShape: [5, 3] })],
  },
  {
    name: 'gru',
    input: [6, 3],
    layers: () => [tf.layers.dense({ units: 3, inputShape: [6, 3] }), tf.layers.gru({ units: 5 })],
  },
];

describe('layer gradients on wasm equal cpu', () => {
  it.each(cases)('$name', async (c) => {
    const cpu = await layerGradientsOn('cpu', c);
    const wasm = await layerGradientsOn('wasm', c);
    expect(relativeError(wasm.output, cpu.output)).toBeLessThan(1e-4);
    expect(Math.abs(wasm.loss - cpu.loss) / Math.abs(cpu.loss)).toBeLessThan(1e-4);
    expect(wasm.grads.map((g) => g.name)).toEqual(cpu.grads.map((g) => g.name));
    expect(cpu.grads.length).toBeGreaterThan(0);
    // A gradient that is analytically zero (the bias of a layer feeding batch norm) is float noise
    // on both backends; errors are measured relative to at least 1% of the model's largest gradient.
    const floor = 1e-2 * Math.max(...cpu.grads.map((g) => maxAbs(g.values)));
    for (const [i, g] of wasm.grads.entries()) {
      const ref = cpu.grads[i]!;
      expect(g.shape, g.name).toEqual(ref.shape);
      expect(relativeError(g.values, ref.values, floor), g.name).toBeLessThan(1e-4);
    }
  });
});

describe('dilated conv2d', () => {
  const dilated: LayerCase = {
    name: 'conv2d 3x3 dilation 2',
    input: [9, 9, 2],
    layers: () => [stem([9, 9, 2]), conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same' })],
  };

  it('its forward pass on wasm equals cpu', async () => {
    const run = async (backend: 'cpu' | 'wasm') => {
      const { onBackend } = await import('./test-helpers.js');
      return onBackend(backend, async () => {
        const layer = conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same' });
        const x = tf.tensor4d(
          Array.from({ length: 2 * 9 * 9 * 2 }, (_, i) => Math.sin(i)),
          [2, 9, 9, 2],
        );
        layer.build(x.shape);
        layer.setWeights(layer.getWeights().map((w) => tf.fill(w.shape, 0.1)));
        const y = layer.apply(x) as tf.Tensor;
        const values = await y.data();
        tf.dispose([x, y, ...layer.weights.map((w) => w.read())]);
        return values;
      });
    };
    expect(relativeError(await run('wasm'), await run('cpu'))).toBeLessThan(1e-4);
  });

  it('cannot be trained on either backend: tfjs-core has no dilated conv2d gradient', async () => {
    // A core limitation (conv2d's gradient asserts dilations of 1), not a wasm one; kept as a test so
    // that a tfjs release that lifts it is noticed.
    const message = /dilation rates greater than 1 are not yet supported/;
    await expect(layerGradientsOn('cpu', dilated)).rejects.toThrow(message);
    await expect(layerGradientsOn('wasm', dilated)).rejects.toThrow(message);
  });
});
