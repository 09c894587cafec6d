/**
 * Issue 20, point 5: `findLr` (and the `snapshot()`/`restore()` it is built on, and `evaluate()`)
 * leave the trainer exactly as they found it — weights, optimizer slots, hyperparameters, time, RNG
 * and plugin state bit for bit — also when the sweep throws. Each quantity is read independently of
 * the snapshot mechanism (tensors read on the host, the plugins' own `state()`, the optimizer's own
 * getters), so a snapshot that forgot something would show here.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type AnyOptimizer,
  adamw,
  definePlugin,
  isTensorloopOptimizer,
  type Plugin,
  type TensorloopOptimizer,
  Trainer,
} from '@tensorloop/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findLr } from './lr-finder.js';
import { reduceOnPlateau } from './plateau.js';
import { classificationData, tinyClassifier } from './test-helpers.js';

let data: { x: tf.Tensor2D; y: tf.Tensor2D };
beforeAll(async () => {
  await tf.setBackend('cpu');
  data = classificationData(128);
});
afterAll(() => tf.dispose([data.x, data.y]));

/** A plugin with JSON state and a device tensor in its state (`stateTensors`). */
function runningMean(): Plugin {
  let batches = 0;
  let mean: tf.Scalar | undefined;
  return definePlugin({
    name: 'test:running-mean',
    onBatchEnd(_ctx, e) {
      batches += 1;
      const loss = e.loss;
      if (!loss) return;
      const next = tf.tidy(
        () => (mean ? tf.add(tf.mul(mean, 0.9), tf.mul(loss, 0.1)) : tf.clone(loss)) as tf.Scalar,
      );
      mean?.dispose();
      mean = next;
    },
    state: () => ({ batches }),
    parseState: (saved) => saved as { batches: number },
    stateTensors: (): tf.NamedTensorMap => (mean ? { mean } : {}),
    loadState(s: { batches: number }, _v, tensors) {
      batches = s.batches;
      mean?.dispose();
      mean = tensors.mean ? (tf.clone(tensors.mean) as tf.Scalar) : undefined;
    },
  });
}

const bits = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array).slice().buffer).toString('base64');

/** Everything that must not change, read without `snapshot()`. */
async function fingerprint(trainer: Trainer, plugins: readonly Plugin[]) {
  const weights = trainer.model.weights.map((w) => `${w.originalName}:${bits(w.read())}`);
  const slots: string[] = [];
  const opt = trainer.optimizer;
  if (isTensorloopOptimizer(opt)) {
    const state = (opt as TensorloopOptimizer).getState();
    for (const [k, t] of Object.entries(state.slots)) slots.push(`${k}:${bits(t)}`);
    tf.dispose(Object.values(state.slots));
    slots.push(JSON.stringify({ ...state, slots: undefined }));
  } else {
    for (const { name, tensor } of await opt.getWeights()) {
      slots.push(`${name}:${bits(tensor)}`);
      if (name === 'iter') tensor.dispose();
    }
  }
  const hparams = trainer.hparams.names().map((n) => {
    const groups = trainer.hparams.groups(n);
    return groups.length === 0
      ? `${n}=${trainer.hparams.get(n)}`
      : groups.map((g) => `${n}[${g}]=${trainer.hparams.get(n, { group: g })}`).join(',');
  });
  const pluginStates = plugins.map((p) => {
    const tensors = p.stateTensors?.() ?? {};
    return JSON.stringify({
      name: p.name,
      state: p.state?.(),
      tensors: Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, bits(t)])),
    });
  });
  return {
    weights,
    slots,
    hparams,
    time: { ...trainer.time },
    history: JSON.stringify(trainer.history),
    frozen: trainer.parameters().map((p) => `${p.name}:${p.trainable}`),
    pluginStates,
    // The RNG: the shuffle order the next epoch would draw (seeded RNG state, read by using a copy of it).
    rng: JSON.stringify(
      await trainer.snapshot().then((s) => {
        const r = s.json.rng;
        s.dispose();
        return r;
      }),
    ),
    tensors: tf.memory().numTensors,
  };
}

function build(optimizer: AnyOptimizer) {
  const plugins = [reduceOnPlateau({ monitor: 'loss', patience: 0, factor: 0.5 }), runningMean()];
  const trainer = new Trainer({
    model: tinyClassifier(3),
    loss: 'categoricalCrossentropy',
    optimizer,
    plugins,
    hparams: { 'lossWeight.aux': 0.25 },
    log: 'silent',
    seed: 11,
  });
  trainer.freeze(/^hidden\/bias$/);
  return { trainer, plugins };
}

/** An iterable of batches that throws at batch `at` (a sweep that fails part-way); `made` are ours to dispose. */
function failingAt(at: number, made: tf.Tensor[]) {
  return (function* () {
    for (let b = 0; ; b++) {
      if (b === at) throw new Error('injected data fault');
      const batch = { x: data.x.slice((b * 16) % 128, 16), y: data.y.slice((b * 16) % 128, 16) };
      made.push(batch.x, batch.y);
      yield batch;
    }
  })();
}

describe('findLr leaves the trainer as it found it, bit for bit', () => {
  for (const [label, make] of [
    [
      'core AdamW with param groups',
      () => adamw({ lr: 0.01, weightDecay: 0.01, groups: [{ name: 'head', match: /^head\//, lr: 0.003 }] }),
    ],
    ['tfjs Adam', () => tf.train.adam(0.01)],
  ] as const) {
    test(`${label}: after a sweep that ran to its end`, async () => {
      const { trainer, plugins } = build(make());
      await trainer.fit(data, { epochs: 2, batchSize: 32 });
      const before = await fingerprint(trainer, plugins);
      const result = await findLr(trainer, data, { steps: 20, batchSize: 16, end: 1e3 });
      expect(result.curve.length).toBeGreaterThan(5);
      expect(await fingerprint(trainer, plugins)).toEqual(before);
    });

    test(`${label}: after a sweep that threw part-way`, async () => {
      const { trainer, plugins } = build(make());
      await trainer.fit(data, { epochs: 2, batchSize: 32 });
      const before = await fingerprint(trainer, plugins);
      const made: tf.Tensor[] = [];
      await expect(findLr(trainer, failingAt(7, made), { steps: 20, stepsPerEpoch: 10 })).rejects.toThrow(
        /TL_DATA_FAILED.*injected data fault/,
      );
      tf.dispose(made); // the iterable's batches are the caller's
      expect(await fingerprint(trainer, plugins)).toEqual(before);
    });
  }

  test('evaluate() and a snapshot()/restore() round trip leave it as found too', async () => {
    const { trainer, plugins } = build(tf.train.adam(0.01));
    await trainer.fit(data, { epochs: 1, batchSize: 32 });
    const before = await fingerprint(trainer, plugins);
    await trainer.evaluate(data, { batchSize: 16 });
    expect(await fingerprint(trainer, plugins)).toEqual(before);
    const snapshot = await trainer.snapshot();
    await trainer.fit(data, { epochs: 2, batchSize: 32 });
    expect((await fingerprint(trainer, plugins)).weights).not.toEqual(before.weights);
    await trainer.restore(snapshot);
    snapshot.dispose();
    expect({ ...(await fingerprint(trainer, plugins)), history: before.history }).toEqual(before);
  });
});
