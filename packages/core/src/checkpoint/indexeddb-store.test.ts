// IndexedDB checkpoints against fake-indexeddb (a complete IndexedDB in JS); the same code runs in
// headless Chromium in examples/browser's test.
import * as tf from '@tensorflow/tfjs';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TensorloopError } from '../errors.js';
import { adamw } from '../optim/adam.js';
import { definePlugin, type Plugin } from '../plugin.js';
import { stop } from '../signals.js';
import { classificationData, maxAbsDiff, weightsOf } from '../test-helpers.js';
import { Trainer, type TrainerOptions } from '../trainer.js';
import { checkpoint } from './checkpoint-plugin.js';
import { INDEXEDDB_DATABASE } from './indexeddb-store.js';
import { listCheckpoints, readCheckpoint, removeCheckpoint } from './store.js';

const data = classificationData(48);

function counter(): Plugin {
  let batches = 0;
  return definePlugin({
    name: 'counter',
    onBatchEnd: () => {
      batches += 1;
    },
    state: () => ({ batches }),
    loadState: (s) => {
      batches = (s as { batches: number }).batches;
    },
  });
}

/** Named layers: weight names are then the same for every model built in this process. */
function namedModel(seed: number): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'h',
        units: 8,
        inputShape: [4],
        activation: 'relu',
        kernelInitializer: init(seed),
      }),
      tf.layers.dense({ name: 'o', units: 3, activation: 'softmax', kernelInitializer: init(seed + 1) }),
    ],
  });
}

function options(plugins: Plugin[], seed = 1): TrainerOptions {
  return {
    model: namedModel(seed),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: adamw({ lr: 0.05 }),
    plugins,
    seed: 5,
    log: 'silent',
  };
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return (error as TensorloopError).code ?? String(error);
  }
}

/** The raw record of a checkpoint, straight from the database (to damage it as a disk would). */
async function rawRecord(
  name: string,
): Promise<{ db: IDBDatabase; id: string; files: Record<string, Uint8Array> }> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const r = indexedDB.open(INDEXEDDB_DATABASE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  return new Promise((resolve, reject) => {
    const tx = db.transaction(['heads', 'records'], 'readonly');
    const head = tx.objectStore('heads').get(name);
    head.onsuccess = () => {
      const id = (head.result as { record: string }).record;
      const rec = tx.objectStore('records').get(id);
      rec.onsuccess = () =>
        resolve({ db, id, files: (rec.result as { files: Record<string, Uint8Array> }).files });
    };
    tx.onerror = () => reject(tx.error);
  });
}

async function putRaw(db: IDBDatabase, id: string, files: Record<string, Uint8Array>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction(['records'], 'readwrite');
    tx.objectStore('records').put({ files }, id);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => {
  delete (globalThis as { indexedDB?: unknown }).indexedDB;
});

describe('indexeddb:// checkpoints', () => {
  test('without IndexedDB (plain Node.js) a save says so and names the fix', async () => {
    const trainer = new Trainer(options([]));
    const error = await trainer.save('indexeddb://nowhere').catch((e: TensorloopError) => e);
    expect((error as TensorloopError).code).toBe('TL_CHECKPOINT_IO');
    expect((error as Error).message).toMatch(/need IndexedDB.*save to a directory/);
    Object.assign(globalThis, { indexedDB, IDBKeyRange });
  });

  test('a mid-epoch checkpoint resumed in a fresh trainer ends with the uninterrupted weights', async () => {
    const straight = new Trainer(options([counter()]));
    await straight.fit(data, { epochs: 3, batchSize: 8 });

    // Interrupted at step 8 (epoch 1, batch 2), right after checkpoint() saved there.
    const interrupt = definePlugin({
      name: 'interrupt',
      enforce: 'post',
      after: ['@tensorloop/core:checkpoint'],
      onBatchEnd: (ctx) => (ctx.time.step === 8 ? stop('tab closed') : undefined),
    });
    const first = new Trainer(
      options([counter(), checkpoint({ dir: 'indexeddb://run-1', everySteps: 4 }), interrupt]),
    );
    await first.fit(data, { epochs: 3, batchSize: 8 });
    expect(first.time.step).toBe(8);

    const resumedCounter = counter();
    const resumed = new Trainer(options([resumedCounter], 42)); // other initial weights: all must come from the record
    await resumed.fit(data, { epochs: 3, batchSize: 8, resumeFrom: 'indexeddb://run-1/last' });
    expect(resumed.time.step).toBe(straight.time.step);
    expect(maxAbsDiff(weightsOf(resumed.model), weightsOf(straight.model))).toBeLessThan(1e-6);
    expect(resumed.history.map((h) => h.logs)).toEqual(straight.history.map((h) => h.logs));
    expect(resumedCounter.state?.()).toEqual({ batches: 18 }); // plugin state came back with the weights
  });

  test('Trainer.load rebuilds model and optimizer from a record', async () => {
    const trainer = new Trainer(options([]));
    await trainer.fit(data, { epochs: 1, batchSize: 8 });
    await trainer.save('indexeddb://loaded');
    const loaded = await Trainer.load('indexeddb://loaded', { log: 'silent', seed: 5 });
    expect(maxAbsDiff(weightsOf(loaded.model), weightsOf(trainer.model))).toBe(0);
    expect(loaded.time).toEqual(trainer.time);
    await trainer.fit(data, { epochs: 1, batchSize: 8 });
    await loaded.fit(data, { epochs: 1, batchSize: 8 });
    expect(maxAbsDiff(weightsOf(loaded.model), weightsOf(trainer.model))).toBeLessThan(1e-6);
  });

  test('a damaged record is refused with the file named, and a missing one with the fix', async () => {
    const trainer = new Trainer(options([]));
    await trainer.save('indexeddb://damaged');
    const { db, id, files } = await rawRecord('damaged');
    const bin = files['model/weights.bin']!.slice();
    bin[0] = bin[0]! ^ 0xff;
    await putRaw(db, id, { ...files, 'model/weights.bin': bin });
    const error = await readCheckpoint('indexeddb://damaged').catch((e: TensorloopError) => e);
    expect((error as TensorloopError).code).toBe('TL_CHECKPOINT_CORRUPT');
    expect((error as Error).message).toMatch(
      /model\/weights\.bin of indexeddb:\/\/damaged does not match its checksum/,
    );
    const missing = await trainer
      .fit(data, { epochs: 1, resumeFrom: 'indexeddb://never-saved' })
      .catch((e) => e);
    expect((missing as TensorloopError).code).toBe('TL_CHECKPOINT_IO');
    expect((missing as Error).message).toMatch(/no checkpoint at indexeddb:\/\/never-saved.*listCheckpoints/);
  });

  test('a save that fails part-way leaves the previous checkpoint current and no stray record', async () => {
    const trainer = new Trainer(options([]));
    await trainer.save('indexeddb://atomic');
    const before = await readCheckpoint('indexeddb://atomic');
    await trainer.fit(data, { epochs: 1, batchSize: 8 });
    const proto = Object.getPrototypeOf(
      (await rawRecord('atomic')).db.transaction(['heads'], 'readonly').objectStore('heads'),
    ) as { put: (...args: unknown[]) => unknown };
    const put = proto.put;
    // The record goes in, then the head put fails: the transaction must take the record back out.
    proto.put = function (this: IDBObjectStore, ...args: unknown[]) {
      if (this.name === 'heads') throw new DOMException('quota exceeded', 'QuotaExceededError');
      return put.apply(this, args);
    };
    try {
      expect(await code(trainer.save('indexeddb://atomic'))).toBe('TL_CHECKPOINT_IO');
    } finally {
      proto.put = put;
    }
    expect(await readCheckpoint('indexeddb://atomic')).toEqual(before);
    const { db } = await rawRecord('atomic');
    const count = await new Promise<number>((resolve) => {
      const r = db.transaction(['records'], 'readonly').objectStore('records').count();
      r.onsuccess = () => resolve(r.result);
    });
    const heads = await listCheckpoints('indexeddb://');
    db.close();
    expect(count).toBe(heads.length); // one record per saved checkpoint, none orphaned
  });

  test('saved runs are listed (by prefix) and deleted', async () => {
    const trainer = new Trainer(options([]));
    await trainer.save('indexeddb://list/a');
    await trainer.save('indexeddb://list/b');
    const listed = await listCheckpoints('indexeddb://list/');
    expect(listed.map((c) => c.url)).toEqual(['indexeddb://list/a', 'indexeddb://list/b']);
    expect(listed[0]!.bytes).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(listed[0]!.savedAt))).toBe(false);
    await removeCheckpoint('indexeddb://list/a');
    await removeCheckpoint('indexeddb://list/a'); // nothing left: no error
    expect((await listCheckpoints('indexeddb://list/')).map((c) => c.name)).toEqual(['list/b']);
    expect(await code(readCheckpoint('indexeddb://list/a'))).toBe('TL_CHECKPOINT_IO');
    expect(await code(listCheckpoints('runs/'))).toBe('TL_OPTION_INVALID');
    expect(await code(trainer.save('indexeddb://'))).toBe('TL_CHECKPOINT_INVALID');
  });

  test('checkpoint() keeps the best records by a monitored key and deletes the dropped ones', async () => {
    const scores = [0.5, 0.3, 0.4, 0.2];
    const scripted = definePlugin({
      name: 'scripted',
      logKeys: ['score'],
      onEpochEnd: (_ctx, e) => {
        e.logs.score = scores[e.fitEpoch]!;
      },
    });
    const trainer = new Trainer(
      options([
        scripted,
        checkpoint({ dir: 'indexeddb://best', monitor: 'score', mode: 'min', keepBest: 2 }),
      ]),
    );
    await trainer.fit(data, { epochs: 4, batchSize: 16 });
    const names = (await listCheckpoints('indexeddb://best/')).map((c) => c.name);
    expect(names).toEqual(['best/best-epoch-0001', 'best/best-epoch-0003', 'best/last']);
  });
});
