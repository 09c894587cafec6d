// The worker protocol over a real MessageChannel (structured clone included): the page end and the
// worker end in one process, as a Web Worker would be.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TensorloopError } from '../errors.js';
import { classificationData, maxAbsDiff, weightsOf } from '../test-helpers.js';
import { Trainer } from '../trainer.js';
import { connectTrainer } from './connect.js';
import type { MessageEndpoint, RemoteFitResult, RemoteProgress } from './protocol.js';
import { serveTrainer } from './serve.js';

interface Config {
  readonly lr: number;
  readonly samples: number;
}

function model(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'wh',
        units: 8,
        inputShape: [4],
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tf.layers.dense({ name: 'wo', units: 3, activation: 'softmax', kernelInitializer: init(2) }),
    ],
  });
}

function trainerFor(config: Config, extra: Partial<ConstructorParameters<typeof Trainer>[0]> = {}): Trainer {
  return new Trainer({
    model: model(),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: tf.train.adam(config.lr),
    seed: 2,
    log: 'silent',
    ...extra,
  });
}

function endpoint(port: MessagePort): MessageEndpoint {
  return port as unknown as MessageEndpoint;
}

const ports: MessagePort[] = [];

/** A page end and a worker end over a MessageChannel; the worker yields every batch so messages arrive mid-fit. */
function pair() {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  let served: Trainer | undefined;
  serveTrainer<Config>(endpoint(port2), {
    create: (config, bridge) => {
      served = trainerFor(config, { plugins: [bridge.plugin], log: bridge.log, yield: { everyMs: 0 } });
      return served;
    },
    data: (config) => ({ data: classificationData(config.samples), fit: { shuffle: true } }),
    sendWeights: true,
  });
  const remote = connectTrainer<Config>(endpoint(port1));
  return { remote, served: () => served! };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  Object.assign(globalThis, { indexedDB, IDBKeyRange });
});
afterAll(() => {
  for (const p of ports) p.close();
});

describe('@tensorloop/core/worker', () => {
  test('a remote fit trains as a local one, reports progress per epoch and returns plain data', async () => {
    const { remote } = pair();
    await remote.ready;
    const seen: RemoteProgress[] = [];
    remote.onProgress((p) => seen.push(p));
    const result = await remote.fit({ config: { lr: 0.05, samples: 48 }, epochs: 3, batchSize: 8 });

    const local = trainerFor({ lr: 0.05, samples: 48 });
    await local.fit(classificationData(48), { epochs: 3, batchSize: 8, shuffle: true });
    const localWeights = Object.fromEntries(local.model.weights.map((w) => [w.originalName, w.read()]));
    for (const [name, w] of Object.entries(result.weights!)) {
      expect(maxAbsDiff([w.values], [localWeights[name]!.dataSync()])).toBeLessThan(1e-6);
    }
    expect(result.history.map((h) => h.logs.loss)).toEqual(local.history.map((h) => h.logs.loss));
    expect(seen.filter((p) => p.event === 'epoch').map((p) => p.time.epoch)).toEqual([0, 1, 2]);
    expect(seen.some((p) => p.event === 'batch')).toBe(true);
    expect(() => structuredClone(result)).not.toThrow();
  });

  test('stop ends the fit after the current batch, with the reason recorded', async () => {
    const { remote } = pair();
    const stopped = remote.onProgress((p) => {
      if (p.event === 'batch' && p.time.step >= 3) void remote.stop('user pressed stop');
    });
    const result: RemoteFitResult = await remote.fit({
      config: { lr: 0.05, samples: 400 },
      epochs: 50,
      batchSize: 8,
    });
    stopped();
    expect(result.stopReason?.message).toBe('user pressed stop');
    expect(result.time.epoch).toBeLessThan(50);
    expect(result.time.step).toBeLessThan(50 * 50);
  });

  test('save during a fit writes a checkpoint that resumes to the uninterrupted weights', async () => {
    const straight = pair();
    const whole = await straight.remote.fit({ config: { lr: 0.05, samples: 48 }, epochs: 4, batchSize: 8 });

    const first = pair();
    let asked = false;
    first.remote.onProgress((p) => {
      if (!asked && p.event === 'epoch' && p.time.epoch === 2) {
        asked = true;
        void first.remote.save('indexeddb://worker-run').then(() => first.remote.stop('page reloaded'));
      }
    });
    await first.remote.fit({ config: { lr: 0.05, samples: 48 }, epochs: 4, batchSize: 8 });

    const second = pair();
    const resumed = await second.remote.fit({
      config: { lr: 0.05, samples: 48 },
      epochs: 4,
      batchSize: 8,
      resumeFrom: 'indexeddb://worker-run',
    });
    expect(resumed.time.step).toBe(whole.time.step);
    const values = (r: RemoteFitResult) => Object.values(r.weights!).map((w) => w.values);
    expect(maxAbsDiff(values(resumed), values(whole))).toBeLessThan(1e-6);
    expect(weightsOf(second.served().model).length).toBe(4);
  });

  test('errors come back as TensorloopErrors with their code; a second concurrent fit is refused', async () => {
    const { remote } = pair();
    const missing = await remote
      .fit({ config: { lr: 0.05, samples: 16 }, epochs: 1, resumeFrom: 'indexeddb://no-such-run' })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TensorloopError);
    expect((missing as TensorloopError).code).toBe('TL_CHECKPOINT_IO');
    const running = remote.fit({ config: { lr: 0.05, samples: 200 }, epochs: 3, batchSize: 4 });
    const second = await remote
      .fit({ config: { lr: 0.05, samples: 16 }, epochs: 1 })
      .catch((e: unknown) => e);
    expect((second as TensorloopError).code).toBe('TL_FIT_CONCURRENT');
    await running;
  });
});
