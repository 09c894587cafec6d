// The seams a multi-stage driver uses between fits: addPlugins, setOptimizer, loadCheckpoint.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isTensorloopError } from './errors.js';
import { HyperparamStore } from './hyperparams.js';
import { sgd } from './optim/index.js';
import { definePlugin, type Plugin } from './plugin.js';
import { classificationData, recorder, weightsOf } from './test-helpers.js';
import { Trainer } from './trainer.js';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'tl-stages-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Named layers: weight names match between two trainers (checkpoints are keyed by them). */
const named = () =>
  tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'h',
        units: 8,
        inputShape: [4],
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({
        name: 'out',
        units: 3,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });

const make = (plugins: Plugin[] = [], optimizer: Parameters<Trainer['setOptimizer']>[0] = sgd({ lr: 0.1 })) =>
  new Trainer({
    model: named(),
    loss: 'categoricalCrossentropy',
    optimizer,
    plugins,
    log: 'silent',
  });

describe('addPlugins', () => {
  test('added plugins see events only while added, ordered with the others', async () => {
    const log: string[] = [];
    const data = classificationData(20);
    const trainer = make([recorder('base', log), { ...recorder('last', log), enforce: 'post' }]);
    await trainer.fit(data, { epochs: 1, batchSize: 20 });
    const remove = trainer.addPlugins([recorder('stage', log)]);
    expect(trainer.plugins.map((p) => p.name)).toEqual(['base', 'stage', 'last']);
    await trainer.fit(data, { epochs: 1, batchSize: 20 });
    remove();
    remove(); // a second call does nothing
    await trainer.fit(data, { epochs: 1, batchSize: 20 });
    expect(trainer.plugins.map((p) => p.name)).toEqual(['base', 'last']);
    expect(log.filter((l) => l.startsWith('stage'))).toEqual([
      'stage:fitStart',
      'stage:epochStart:1',
      'stage:epochEnd:1',
      'stage:fitEnd:true',
    ]);
    expect(log.filter((l) => l.endsWith('fitStart'))).toEqual([
      'base:fitStart',
      'last:fitStart',
      'base:fitStart',
      'stage:fitStart',
      'last:fitStart',
      'base:fitStart',
      'last:fitStart',
    ]);
  });

  test('a duplicate name fails and changes nothing; adding during a fit is refused', async () => {
    const trainer = make([recorder('base', [])]);
    const error = (() => {
      try {
        trainer.addPlugins([recorder('ok', []), recorder('base', [])]);
      } catch (e) {
        return e;
      }
    })();
    expect(isTensorloopError(error, 'TL_PLUGIN_DUPLICATE')).toBe(true);
    expect(trainer.plugins.map((p) => p.name)).toEqual(['base']);
    let during: unknown;
    trainer.addPlugins([
      definePlugin({
        name: 'adder',
        onEpochEnd: () => {
          try {
            trainer.addPlugins([recorder('late', [])]);
          } catch (e) {
            during = e;
          }
        },
      }),
    ]);
    await trainer.fit(classificationData(10), { epochs: 1 });
    expect(isTensorloopError(during, 'TL_FIT_CONCURRENT')).toBe(true);
  });

  test("an added plugin's hyperparameter writes end when it is removed; ctx.plugin finds it", async () => {
    const seen: number[] = [];
    const trainer = make([
      definePlugin({
        name: 'reader',
        onFitStart: (ctx) =>
          void seen.push(ctx.hasPlugin('lr-writer') ? (ctx.plugin('lr-writer' as never) as number) : -1),
        onEpochEnd: (ctx) => void seen.push(ctx.hparams.get('lr')),
      }),
    ]);
    const writer = definePlugin({
      name: 'lr-writer',
      api: 7,
      hparams: [{ name: 'lr', mode: 'set' }],
      onEpochStart: (ctx) => ctx.hparams.set('lr', 0.01),
    });
    const remove = trainer.addPlugins([writer]);
    await trainer.fit(classificationData(10), { epochs: 1 });
    remove();
    await trainer.fit(classificationData(10), { epochs: 1 });
    expect(seen).toEqual([7, 0.01, -1, 0.1]);
    // Another 'set' writer of lr may now be added: the first one's declaration is gone.
    expect(() => trainer.addPlugins([{ ...writer, name: 'other-writer' }])).not.toThrow();
  });

  test("an added plugin's state is in checkpoints and comes back through loadCheckpoint", async () => {
    const counter = () => {
      let n = 0;
      return definePlugin({
        name: 'counter',
        api: {
          get n() {
            return n;
          },
        },
        onBatchEnd: () => {
          n += 1;
        },
        state: () => ({ n }),
        loadState: (s) => {
          n = (s as { n: number }).n;
        },
      });
    };
    const data = classificationData(20);
    const first = make();
    const p1 = counter();
    first.addPlugins([p1]);
    await first.fit(data, { epochs: 2, batchSize: 5 });
    await first.save(join(dir, 'added'));
    const second = make();
    const p2 = counter();
    second.addPlugins([p2]);
    await second.loadCheckpoint(join(dir, 'added'));
    expect((p2.api as { n: number }).n).toBe(8);
    expect(second.time.epoch).toBe(2);
    await second.fit(data, { epochs: 1, batchSize: 5 });
    expect((p2.api as { n: number }).n).toBe(12);
    expect(second.time.fitIndex).toBe(1);
  });
});

describe('setOptimizer', () => {
  test('the next fit steps with the new optimizer; its lr becomes the base; the old one is returned', async () => {
    const data = classificationData(8);
    const a = make([], sgd({ lr: 0.1 }));
    const b = make([], sgd({ lr: 0.1 }));
    b.model.setWeights(a.model.getWeights());
    await a.fit(data, { epochs: 1, batchSize: 8, shuffle: false });
    await b.fit(data, { epochs: 1, batchSize: 8, shuffle: false });
    const slower = sgd({ lr: 0 });
    const previous = b.setOptimizer(slower);
    expect(previous).not.toBe(slower);
    expect(b.optimizer).toBe(slower);
    expect(b.hparams.get('lr')).toBe(0);
    const before = weightsOf(b.model);
    await b.fit(data, { epochs: 1, batchSize: 8, shuffle: false });
    await a.fit(data, { epochs: 1, batchSize: 8, shuffle: false });
    // lr 0: nothing moves in b, while a (still lr 0.1) moved.
    expect(weightsOf(b.model)).toEqual(before);
    expect(weightsOf(a.model)).not.toEqual(before);
    expect(b.time.step).toBe(2);
  });

  test('a tfjs optimizer can replace a core one and is checkpointed as the one in use', async () => {
    const data = classificationData(8);
    const t = make([], sgd({ lr: 0.1 }));
    t.setOptimizer(tf.train.adam(0.01));
    await t.fit(data, { epochs: 1, batchSize: 4 });
    await t.save(join(dir, 'swapped'));
    const wrong = make([], sgd({ lr: 0.1 }));
    await expect(wrong.loadCheckpoint(join(dir, 'swapped'))).rejects.toThrow(/TL_CHECKPOINT_INVALID/);
    const right = make([], sgd({ lr: 0.1 }));
    right.setOptimizer(tf.train.adam(0.01));
    await right.loadCheckpoint(join(dir, 'swapped'));
    expect(weightsOf(right.model)).toEqual(weightsOf(t.model));
  });
});

describe('HyperparamStore.removeWriters', () => {
  test("a removed writer's set value gives way to the base and its factor stops applying", () => {
    const store = new HyperparamStore();
    store.define('lr', 0.1, { group: 'default' });
    store.declareWriter({ plugin: 'sched', name: 'lr', mode: 'set' });
    store.declareWriter({ plugin: 'warm', name: 'lr', mode: 'multiply' });
    store.declareWriter({ plugin: 'plateau', name: 'lr', mode: 'multiply' });
    store.set('lr', 0.02, { by: 'sched' });
    store.set('lr', 0.5, { by: 'warm' });
    store.set('lr', 0.1, { by: 'plateau' });
    expect(store.get('lr')).toBeCloseTo(0.001, 12);
    store.removeWriters('warm');
    expect(store.get('lr')).toBeCloseTo(0.002, 12);
    store.removeWriters('sched');
    expect(store.get('lr')).toBeCloseTo(0.01, 12);
    expect(store.writers('lr').map((w) => w.plugin)).toEqual(['plateau']);
    expect(() => store.set('lr', 0.3, { by: 'sched' })).toThrow(/without declaring it/);
  });
});
