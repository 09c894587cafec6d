// Checks the Chromium test runs in the page: OPFS checkpoints, a damaged IndexedDB record, WebGL.
import * as tf from '@tensorflow/tfjs';
import {
  isTensorloopError,
  listCheckpoints,
  opfsAvailable,
  readCheckpoint,
  removeCheckpoint,
  Trainer,
} from '@tensorloop/core';
import { ampF16 } from './f16-probe.js';
import { digitModel } from './training.js';

const maxDiff = (a: tf.LayersModel, b: tf.LayersModel) =>
  Math.max(
    ...a.weights.map((w, i) =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(w.read(), b.weights[i]!.read()))).dataSync()[0]!),
    ),
  );

function smallTrainer(): Trainer {
  return new Trainer({
    model: digitModel(3),
    loss: 'categoricalCrossentropy',
    optimizer: 'adam',
    log: 'silent',
  });
}

/** Save to `opfs://…`, list, load back with Trainer.load, delete. */
async function opfsRoundTrip() {
  if (!opfsAvailable()) return { available: false };
  const trainer = smallTrainer();
  await trainer.fit(
    {
      x: tf.randomNormal([32, 784], 0, 1, 'float32', 1),
      y: tf
        .oneHot(
          tf.tensor1d(
            Array.from({ length: 32 }, (_, i) => i % 10),
            'int32',
          ),
          10,
        )
        .toFloat(),
    },
    { epochs: 1, batchSize: 8 },
  );
  await trainer.save('opfs://probe/run');
  const listed = (await listCheckpoints('opfs://probe/')).map((c) => c.url);
  const loaded = await Trainer.load('opfs://probe/run', { log: 'silent' });
  const diff = maxDiff(trainer.model, loaded.model);
  await removeCheckpoint('opfs://probe/run');
  const after = (await listCheckpoints('opfs://probe/')).length;
  return { available: true, listed, maxDiff: diff, step: loaded.time.step, afterRemove: after };
}

/** Flip one byte of a saved record in the real IndexedDB: the read must refuse it. */
async function damagedRecord() {
  await smallTrainer().save('indexeddb://probe-damaged');
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const r = indexedDB.open('tensorloop-checkpoints');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction(['heads', 'records'], 'readwrite');
    const head = tx.objectStore('heads').get('probe-damaged');
    head.onsuccess = () => {
      const id = (head.result as { record: string }).record;
      const rec = tx.objectStore('records').get(id);
      rec.onsuccess = () => {
        const files = (rec.result as { files: Record<string, Uint8Array> }).files;
        const bytes = files['model/weights.bin']!.slice();
        bytes[10] = bytes[10]! ^ 0x55;
        tx.objectStore('records').put({ files: { ...files, 'model/weights.bin': bytes } }, id);
      };
    };
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  db.close();
  try {
    await readCheckpoint('indexeddb://probe-damaged');
    return { refused: false, code: '' };
  } catch (error) {
    return {
      refused: isTensorloopError(error, 'TL_CHECKPOINT_CORRUPT'),
      code: isTensorloopError(error) ? error.code : String(error),
    };
  } finally {
    await removeCheckpoint('indexeddb://probe-damaged');
  }
}

/** What WebGL this Chromium offers tfjs (with --disable-gpu: often none). */
function webgl() {
  const canvas = document.createElement('canvas');
  const gl2 = canvas.getContext('webgl2');
  const gl1 = gl2 ? null : canvas.getContext('webgl');
  const gl = gl2 ?? gl1;
  const info = gl?.getExtension('WEBGL_debug_renderer_info');
  return {
    webgl2: gl2 !== null,
    webgl1: gl1 !== null,
    renderer: gl && info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : null,
    colorBufferFloat: gl ? gl.getExtension('EXT_color_buffer_float') !== null : false,
    colorBufferHalfFloat: gl ? gl.getExtension('EXT_color_buffer_half_float') !== null : false,
  };
}

/**
 * The control for the hidden-tab check: plain tfjs `model.fit` (which yields through
 * requestAnimationFrame) started alongside; it counts its batches in `tfjsBatches`.
 */
function startTfjsFit(counter: { tfjsBatches: number }): void {
  const model = digitModel(5);
  model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam' });
  const x = tf.randomNormal([4096, 784], 0, 1, 'float32', 2);
  const y = tf
    .oneHot(
      tf.tensor1d(
        Array.from({ length: 4096 }, (_, i) => i % 10),
        'int32',
      ),
      10,
    )
    .toFloat();
  void model.fit(x, y, {
    epochs: 100,
    batchSize: 32,
    verbose: 0,
    callbacks: {
      onBatchEnd: async () => {
        counter.tfjsBatches += 1;
      },
    },
  });
}

export const probes = { opfsRoundTrip, damagedRecord, webgl, startTfjsFit, ampF16 };
