import * as tf from '@tensorflow/tfjs';
import { definePlugin, type LogEntry, Trainer } from '@tensorloop/core';
import { beforeAll, describe, expect, test } from 'vitest';
import { PrecisionEmulator } from './emulation.js';
import { amp, planPrecision, roundToPrecision } from './index.js';
import { DEFAULT_KEEP_FLOAT32 } from './precision-plan.js';
import { mnistMlp, mnistTensors } from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const f16 = (t: tf.Tensor) => roundToPrecision(t, 'float16');

/** True when every element is a float16 value (rounding it changes nothing). */
function allHalf(t: tf.Tensor): boolean {
  return tf.tidy(() => tf.all(tf.equal(f16(t), t)).dataSync()[0] === 1);
}

function linearModel(units = 3, inputs = 4) {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'lin',
        inputShape: [inputs],
        units,
        kernelInitializer: tf.initializers.randomNormal({ seed: 1 }),
        biasInitializer: tf.initializers.randomNormal({ seed: 2 }),
      }),
    ],
  });
}

describe('the precision plan', () => {
  test('trainer.describe() shows which layer rounds to what, before the first fit', () => {
    const trainer = new Trainer({
      model: mnistMlp(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(),
      plugins: [amp({ precision: 'float16' })],
      log: 'silent',
    });
    const text = trainer.describe();
    expect(text).toContain('loss scale: dynamic, from 32768; × 2 after 2000 finite steps in a row');
    expect(text).toContain('precision: float16, emulated (round to nearest even');
    expect(text).toContain('hidden (Dense): float16 weights, inputs and outputs');
    expect(text).toContain("bn (BatchNormalization): float32 (keepFloat32 'BatchNormalization')");
    expect(text).toContain('relu (Activation): float16 inputs and outputs');
    expect(text).toContain(
      "out (Dense): float16 weights and inputs; softmax in float32 on the rounded pre-activation, float32 output (keepFloat32 'softmax')",
    );
  });

  test('keepFloat32 takes class names, layer names, activation names and RegExps; unused entries are reported', () => {
    const { layers, unused } = planPrecision(mnistMlp(), 'bfloat16', [/^hid/, 'relu', 'Conv2D']);
    expect(layers.map((l) => [l.layer, l.compute, l.float32Activation ?? null])).toEqual([
      ['hidden', 'float32', null],
      ['bn', 'bfloat16', null],
      ['relu', 'float32', null], // the layer named relu (its activation is relu too)
      ['out', 'bfloat16', null], // softmax is not in this list
    ]);
    expect(unused).toEqual(['Conv2D']);
    expect(planPrecision(mnistMlp(), 'float16', DEFAULT_KEEP_FLOAT32).unused).toEqual([
      'LayerNormalization',
      'Softmax',
      'logSoftmax',
    ]);
  });

  test('a keepFloat32 entry that matches nothing is a warning at fit start', async () => {
    const entries: LogEntry[] = [];
    const trainer = new Trainer({
      model: mnistMlp(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(),
      plugins: [amp({ precision: 'float16', keepFloat32: ['BatchNormalization', 'dense_1'] })],
      log: (e) => void entries.push(e),
    });
    await trainer.fit(mnistTensors(2), { epochs: 1, batchSize: 10 });
    const warning = entries.find((e) => e.level === 'warn' && e.source === '@tensorloop/amp');
    expect(warning?.message).toContain('dense_1');
    expect(warning?.message).toContain('Layer names: hidden, bn, relu, out');
  });
});

describe('float16 emulation of the forward and backward pass', () => {
  test('a dense layer computes round(round(x)·round(W) + round(b)), and its weight gradient is rounded', () => {
    const model = linearModel();
    const emulator = new PrecisionEmulator('float16');
    emulator.install(planPrecision(model, 'float16', DEFAULT_KEEP_FLOAT32).layers);
    const x = tf.tensor2d([
      [0.1, -1.7, 3.3, 1e-3],
      [70000, 2, -0.25, 1e-6],
    ]);
    const dy = tf.tensor2d([
      [1e-8, 0.3, -2],
      [5e-5, 1e-7, 1],
    ]);
    const [kernel, bias] = model.getWeights();
    emulator.active = true;
    const got = tf.variableGrads(
      () => tf.sum(tf.mul(model.apply(x) as tf.Tensor, dy)),
      [model.trainableWeights[0]!.read() as tf.Variable],
    );
    const out = tf.tidy(() => model.apply(x) as tf.Tensor);
    emulator.active = false;
    const expected = f16(tf.add(tf.matMul(f16(x), f16(kernel!)), f16(bias!)));
    expect(Array.from(out.dataSync())).toEqual(Array.from(expected.dataSync()));
    // 70000 is past float16's max: its row is Infinity, exactly as half precision would give.
    expect(
      out
        .dataSync()
        .slice(3)
        .some((v) => !Number.isFinite(v)),
    ).toBe(true);
    const dKernel = got.grads[(model.trainableWeights[0]!.read() as tf.Variable).name]!;
    const expectedGrad = f16(tf.matMul(f16(x), f16(dy), true, false));
    expect(Array.from(dKernel.dataSync())).toEqual(Array.from(expectedGrad.dataSync()));
    // Outside the emulation the same layer computes in float32.
    const plain = model.apply(x) as tf.Tensor;
    expect(allHalf(plain.slice([0, 0], [1, 3]))).toBe(false);
    tf.dispose([x, dy, out, expected, expectedGrad, plain, got.value, ...Object.values(got.grads)]);
  });

  test('bfloat16 rounds the same way to 8 significant bits', () => {
    const model = linearModel();
    const emulator = new PrecisionEmulator('bfloat16');
    emulator.install(planPrecision(model, 'bfloat16', []).layers);
    const x = tf.tensor2d([[0.1, -1.7, 3.3, 1e-3]]);
    const [kernel, bias] = model.getWeights();
    emulator.active = true;
    const out = model.apply(x) as tf.Tensor;
    emulator.active = false;
    const r = (t: tf.Tensor) => roundToPrecision(t, 'bfloat16');
    const expected = r(tf.add(tf.matMul(r(x), r(kernel!)), r(bias!)));
    expect(Array.from(out.dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([x, out, expected]);
  });

  test('an Embedding rounds its weights and output but never its indices (2049 is not a float16)', () => {
    const model = tf.sequential({
      layers: [tf.layers.embedding({ name: 'emb', inputDim: 3000, outputDim: 2, inputLength: 1 })],
    });
    const emulator = new PrecisionEmulator('float16');
    emulator.install(planPrecision(model, 'float16', DEFAULT_KEEP_FLOAT32).layers);
    const ids = tf.tensor2d([[2049]]);
    emulator.active = true;
    const out = model.apply(ids) as tf.Tensor;
    emulator.active = false;
    const table = model.getWeights()[0]!;
    const expected = f16(tf.gather(table, [2049]));
    expect(Array.from(out.dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([ids, out, expected]);
  });

  test('softmax and BatchNormalization stay float32; the layers around them round', () => {
    const model = mnistMlp();
    const emulator = new PrecisionEmulator('float16');
    emulator.install(planPrecision(model, 'float16', DEFAULT_KEEP_FLOAT32).layers);
    const { x } = mnistTensors(1);
    emulator.active = true;
    const probabilities = model.apply(x, { training: true }) as tf.Tensor;
    const hidden = model.layers[0]!.apply(x) as tf.Tensor;
    const bn = model.layers[1]!.apply(hidden, { training: true }) as tf.Tensor;
    emulator.active = false;
    expect(allHalf(hidden)).toBe(true);
    expect(allHalf(bn)).toBe(false); // BatchNormalization computed in float32 from float16 inputs
    expect(allHalf(probabilities)).toBe(false); // softmax in float32
    tf.dispose([x, probabilities, hidden, bn]);
  });

  test('in a fit the optimizer updates float32 masters; getWeights() and predict() outside the fit see them', async () => {
    const model = mnistMlp();
    const seen: boolean[] = [];
    const trainer = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(1e-3),
      plugins: [
        amp({ precision: 'float16' }),
        definePlugin({
          name: 'test:masters',
          onEpochEnd: () => {
            // Read during the fit (emulation on): the weights are the masters, not their rounding.
            const kernel = model.getWeights()[0]!;
            seen.push(allHalf(kernel));
            expect(Array.from(kernel.dataSync())).toEqual(
              Array.from(trainer.trainableWeights[0]!.variable.dataSync()),
            );
          },
        }),
      ],
      log: 'silent',
    });
    const data = mnistTensors(4);
    await trainer.fit(data, { epochs: 2, batchSize: 10 });
    expect(seen).toEqual([false, false]); // Adam's small float32 updates land between float16 values
    const out = trainer.predict(data.x.slice(0, 3)) as tf.Tensor;
    const again = tf.tidy(() => model.apply(data.x.slice(0, 3)) as tf.Tensor);
    expect(Array.from(out.dataSync())).toEqual(Array.from(again.dataSync()));
    tf.dispose([out, again, data.x, data.y]);
  });

  test('evaluate() computes like the training pass (rounded); predict() computes in float32', async () => {
    const model = mnistMlp();
    const trainer = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(1e-3),
      plugins: [amp({ precision: 'float16', keepFloat32: [] })],
      log: 'silent',
    });
    const data = mnistTensors(3);
    const plain = await new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(1e-3),
      log: 'silent',
    }).evaluate(data);
    trainer.describe(); // plans the layers first: the rounding must still be installed
    const rounded = await trainer.evaluate(data);
    expect(rounded.loss).not.toBe(plain.loss);
    expect(Math.abs(rounded.loss! - plain.loss!)).toBeLessThan(0.05);
    const p = trainer.predict(data.x) as tf.Tensor;
    expect(allHalf(p)).toBe(false);
    tf.dispose([p, data.x, data.y]);
  });
});
