// Issue 12 points 8–10: the learning rate in the logs, dropout in the seeded state, stateful RNN resets.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { sgd } from './optim/sgd.js';
import { definePlugin } from './plugin.js';
import { classificationData, maxAbsDiff, weightsOf } from './test-helpers.js';
import { Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const dense = (seed: number, dropout?: tf.layers.Layer) =>
  tf.sequential({
    layers: [
      tf.layers.dense({
        units: 16,
        inputShape: [4],
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      ...(dropout ? [dropout] : []),
      tf.layers.dense({
        units: 3,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });

describe('the learning rate in the epoch logs (Keras test_learning_rate_in_history)', () => {
  test('logs.lr is the lr of the epoch’s last optimizer step, read from the store (no read-back)', async () => {
    // Keras: LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1)) → history['learning_rate'] = [0.1, 0.05, 0.0333].
    const schedule = definePlugin({
      name: 'per-epoch',
      hparams: [{ name: 'lr', mode: 'set' }],
      onEpochStart: (ctx, { epoch }) => ctx.hparams.set('lr', 0.1 / (epoch + 1)),
      // A write after the last step of the epoch (for the next one) is not what the epoch used.
      onBatchEnd: (ctx, { batch }) => (batch === 4 ? ctx.hparams.set('lr', 99) : undefined),
    });
    const t = new Trainer({
      model: dense(1),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(1),
      plugins: [schedule],
      log: 'silent',
    });
    const { history } = await t.fit(classificationData(50), { epochs: 3, batchSize: 10 });
    expect(history.map((h) => h.logs.lr)).toEqual([0.1, 0.05, 0.1 / 3]);
  });

  test('other param groups log lr/<group>', async () => {
    const optimizer = sgd({
      lr: 0.1,
      groups: [{ name: 'head', match: /^dense_Dense\d*[02468]\//, lr: 0.01 }],
    });
    const model = dense(3);
    const t = new Trainer({ model, loss: 'categoricalCrossentropy', optimizer, log: 'silent' });
    const { history } = await t.fit(classificationData(20), { epochs: 1, batchSize: 10 });
    const groups = t.paramGroups.map((g) => g.name);
    expect(groups).toContain('head');
    expect(history[0]!.logs).toMatchObject({ lr: 0.1, 'lr/head': 0.01 });
  });
});

describe('dropout is a function of the trainer’s seeded state', () => {
  const run = async (seed: number, epochs = 2) => {
    const model = dense(5, tf.layers.dropout({ rate: 0.5 }));
    const t = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.5),
      seed,
      log: 'silent',
    });
    await t.fit(classificationData(60), { epochs, batchSize: 10 });
    return weightsOf(model);
  };

  test('two runs with the same seed are identical; another seed gives other masks', async () => {
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    expect(maxAbsDiff(a, b)).toBe(0);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(1e-3);
  });

  test('every noise layer follows the seed (GaussianNoise, GaussianDropout, AlphaDropout, SpatialDropout1D)', async () => {
    const layers = () => [
      tf.layers.gaussianNoise({ stddev: 0.3 }),
      tf.layers.gaussianDropout({ rate: 0.3 }),
      tf.layers.alphaDropout({ rate: 0.3 }),
    ];
    const once = async (seed: number) => {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({
            units: 8,
            inputShape: [4],
            kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
          }),
          ...layers(),
          tf.layers.reshape({ targetShape: [2, 4] }),
          tf.layers.spatialDropout1d({ rate: 0.3 }),
          tf.layers.flatten(),
          tf.layers.dense({
            units: 3,
            activation: 'softmax',
            kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
          }),
        ],
      });
      const t = new Trainer({
        model,
        loss: 'categoricalCrossentropy',
        optimizer: tf.train.sgd(0.5),
        seed,
        log: 'silent',
      });
      await t.fit(classificationData(40), { epochs: 1, batchSize: 10 });
      return weightsOf(model);
    };
    expect(maxAbsDiff(await once(3), await once(3))).toBe(0);
    expect(maxAbsDiff(await once(3), await once(4))).toBeGreaterThan(1e-4);
  });

  test('Math.random is itself again outside the step', async () => {
    const original = Math.random;
    await run(1, 1);
    expect(Math.random).toBe(original);
  });
});

describe('stateful RNNs are reset (fastai ModelResetter)', () => {
  const sequences = () =>
    tf.tidy(() => {
      const x = tf.randomNormal([40, 5, 2], 0, 1, 'float32', 3);
      const y = tf.oneHot(tf.cast(tf.greater(tf.sum(x, [1, 2]), 0), 'int32'), 2).toFloat();
      return { x, y };
    });
  const rnn = () =>
    tf.sequential({
      layers: [
        tf.layers.simpleRNN({
          name: 'rnn',
          units: 4,
          stateful: true,
          batchInputShape: [10, 5, 2],
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
          recurrentInitializer: tf.initializers.glorotUniform({ seed: 2 }),
        }),
        tf.layers.dense({
          name: 'out',
          units: 2,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        }),
      ],
    });
  const stateNorms = async (resetStates: 'epoch' | 'never') => {
    const seen: { at: string; norm: number }[] = [];
    const model = rnn();
    const layer = model.getLayer('rnn') as unknown as { states: tf.Tensor[] };
    const norm = () => (layer.states?.[0] ? tf.tidy(() => tf.norm(layer.states[0]!).dataSync()[0]!) : 0);
    const probe = definePlugin({
      name: 'probe',
      onEpochStart: () => void seen.push({ at: 'epochStart', norm: norm() }),
      onValidationStart: () => void seen.push({ at: 'validationStart', norm: norm() }),
    });
    const data = sequences();
    const t = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [probe],
      resetStates,
      log: 'silent',
    });
    await t.fit(data, { epochs: 2, batchSize: 10, shuffle: false, validationData: data });
    return seen;
  };

  test("resetStates: 'epoch' (default) zeroes the states at each epoch start; validation starts from zero states", async () => {
    const seen = await stateNorms('epoch');
    expect(seen.map((s) => s.at)).toEqual(['epochStart', 'validationStart', 'epochStart', 'validationStart']);
    expect(seen.filter((s) => s.at === 'epochStart').map((s) => s.norm)).toEqual([0, 0]);
    // The probe runs before validation resets; validation itself began from zeros (see evaluate below).
    expect(seen[1]!.norm).toBeGreaterThan(0);
  });

  test("resetStates: 'never' carries the states across epochs", async () => {
    const seen = await stateNorms('never');
    expect(seen[2]!.norm).toBeGreaterThan(0);
  });

  test('evaluate() starts from zero states: the same result twice in a row', async () => {
    const model = rnn();
    const data = sequences();
    const t = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      log: 'silent',
    });
    await t.fit(data, { epochs: 1, batchSize: 10, shuffle: false });
    const a = await t.evaluate(data, { batchSize: 10 });
    const b = await t.evaluate(data, { batchSize: 10 });
    expect(b.loss).toBe(a.loss);
    const never = new Trainer({
      model,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      resetStates: 'never',
      log: 'silent',
    });
    const c = await never.evaluate(data, { batchSize: 10 });
    const d = await never.evaluate(data, { batchSize: 10 });
    expect(d.loss).not.toBe(c.loss);
  });

  test('an invalid resetStates is refused', () => {
    expect(
      () =>
        new Trainer({
          model: rnn(),
          loss: 'categoricalCrossentropy',
          optimizer: tf.train.sgd(0.1),
          resetStates: 'batch' as never,
        }),
    ).toThrow(/resetStates must be 'epoch' or 'never'; got "batch"/);
  });
});
