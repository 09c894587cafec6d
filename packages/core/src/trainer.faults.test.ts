/**
 * Fault injection (issue 20, point 3): a plugin that throws in each hook at a seeded random step, a
 * data source that throws mid-epoch or stalls, a disk that fills up during a save, a read-only
 * checkpoint folder. Each must end with a clear coded error, every tensor released, the other
 * plugins' `onFitEnd` run, and the last good checkpoint loadable and resumable. (SIGKILL during
 * training and checkpoint writes: `packages/tests/src/kill-training.test.ts`.)
 */

import { mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkpoint } from './checkpoint/checkpoint-plugin.js';
import { isTensorloopError, type TensorloopError } from './errors.js';
import { definePlugin, type Plugin } from './plugin.js';
import { classificationData } from './test-helpers.js';
import { Trainer } from './trainer.js';

const EPOCHS = 3;
const BATCHES = 8; // 64 samples, batch 8

let root: string;
let x: tf.Tensor2D;
let y: tf.Tensor2D;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'tl-faults-'));
  ({ x, y } = classificationData(64));
});
afterAll(async () => {
  tf.dispose([x, y]);
  await rm(root, { recursive: true, force: true });
});

/** mulberry32: the seeded source of the steps at which faults are injected. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const model = () =>
  tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'hidden',
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

/** What the other plugins saw: every onException and onFitEnd. */
function witness() {
  const seen = { exceptions: [] as string[], fitEnds: [] as (string | undefined)[] };
  const plugin = definePlugin({
    name: 'witness',
    onException: (_c, e) => void seen.exceptions.push(e.error.code),
    onFitEnd: (_c, e) => void seen.fitEnds.push(e.error?.code),
  });
  return { plugin, seen };
}

const PER_BATCH = [
  'onBatchStart',
  'transformBatch',
  'transformLoss',
  'transformGradients',
  'afterOptimizerStep',
  'onBatchEnd',
] as const;
const PER_EPOCH = ['onEpochStart', 'onValidationStart', 'onValidationEnd', 'onEpochEnd'] as const;
const PER_FIT = ['onFitStart', 'onFitEnd'] as const;
type Hook = (typeof PER_BATCH)[number] | (typeof PER_EPOCH)[number] | (typeof PER_FIT)[number];

/** A plugin whose `hook` throws once, at epoch `epoch` and (per-batch hooks) batch `batch` of it. */
function chaos(hook: Hook, epoch: number, batch: number): Plugin {
  let fired = false;
  const due = (time: { epoch: number; epochBatch: number }) =>
    !fired &&
    ((PER_FIT as readonly string[]).includes(hook) ||
      (time.epoch === epoch &&
        (!(PER_BATCH as readonly string[]).includes(hook) || time.epochBatch >= batch)));
  const handler = (ctx: { time: { epoch: number; epochBatch: number } }, value?: unknown) => {
    if (due(ctx.time)) {
      fired = true;
      throw new Error(`injected fault in ${hook}`);
    }
    return hook.startsWith('transform') ? value : undefined;
  };
  return definePlugin({ name: 'chaos', [hook]: handler } as unknown as Plugin);
}

describe('a plugin that throws in each hook at a seeded random step', () => {
  const random = seeded(20);
  for (const hook of [...PER_FIT, ...PER_EPOCH, ...PER_BATCH]) {
    const epoch = Math.floor(random() * EPOCHS);
    const batch = Math.floor(random() * BATCHES);
    test(`${hook} (epoch ${epoch}, batch ${batch}): coded error, tensors released, onFitEnd of the others, last checkpoint resumable`, async () => {
      const dir = join(root, `chaos-${hook}`);
      const { plugin, seen } = witness();
      const trainer = new Trainer({
        model: model(),
        loss: 'categoricalCrossentropy',
        optimizer: tf.train.sgd(0.1),
        plugins: [chaos(hook, epoch, batch), checkpoint({ dir, everySteps: 3 }), plugin],
        log: 'silent',
        seed: 5,
      });
      const before = tf.memory().numTensors;
      const error = (await trainer
        .fit({ x, y }, { epochs: EPOCHS, batchSize: 8, validationData: { x, y } })
        .catch((e: unknown) => e)) as TensorloopError;
      expect(isTensorloopError(error, 'TL_HOOK_FAILED')).toBe(true);
      expect(error.plugin).toBe('chaos');
      expect(error.hook).toBe(hook);
      expect(error.message).toContain(`injected fault in ${hook}`);
      expect(tf.memory().numTensors).toBe(before);
      expect(seen.exceptions).toEqual(['TL_HOOK_FAILED']);
      // onFitEnd reaches the other plugins once: with the error, or (when it was onFitEnd that failed)
      // as the normal end it was, the failure following in onException.
      expect(seen.fitEnds).toEqual([hook === 'onFitEnd' ? undefined : 'TL_HOOK_FAILED']);
      const saved = (await readdir(dir).catch((): string[] => [])).includes('last');
      if (!saved) return; // the fault came before the first save (step 3)
      const resumed = await Trainer.load(join(dir, 'last'), {
        loss: 'categoricalCrossentropy',
        log: 'silent',
        seed: 5,
      });
      expect(resumed.time.step).toBeLessThanOrEqual(trainer.time.step);
      expect(resumed.time.step % 3).toBe(0);
      const result = await resumed.fit({ x, y }, { epochs: EPOCHS, batchSize: 8 });
      expect(result.time.epoch).toBe(EPOCHS);
      expect(result.history.every((h) => Number.isFinite(h.logs.loss))).toBe(true);
    });
  }
});

/** Batches of `{ x, y }` as an async generator, with `fault` run before batch `at`. */
async function* batches(fault: { at: number; run: () => Promise<void> }) {
  for (let b = 0; ; b++) {
    if (b === fault.at) await fault.run();
    yield tf.tidy(() => ({ x: x.slice((b * 8) % 64, 8), y: y.slice((b * 8) % 64, 8) }));
  }
}

describe('data sources that fail', () => {
  const fitWith = async (
    data: AsyncIterable<{ x: tf.Tensor; y: tf.Tensor }>,
    options: { dataTimeoutMs?: number } = {},
  ) => {
    const { plugin, seen } = witness();
    const trainer = new Trainer({
      model: model(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [plugin],
      log: 'silent',
    });
    const before = tf.memory().numTensors;
    const error = (await trainer
      .fit(data, { epochs: 2, stepsPerEpoch: 8, ...options })
      .catch((e: unknown) => e)) as TensorloopError;
    return { error, seen, trainer, alive: tf.memory().numTensors - before };
  };

  test('a source that throws mid-epoch: TL_DATA_FAILED naming the batch, onFitEnd run', async () => {
    const { error, seen, trainer, alive } = await fitWith(
      batches({
        at: 11,
        run: async () => {
          throw new Error('disk read failed');
        },
      }),
    );
    expect(isTensorloopError(error, 'TL_DATA_FAILED')).toBe(true);
    expect(error.message).toContain('while the fit waited for batch 3 of epoch 1: disk read failed');
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(seen.fitEnds).toEqual(['TL_DATA_FAILED']);
    expect(trainer.time.step).toBe(11);
    expect(alive).toBe(11 * 2); // the batches it yielded, which are ours
  });

  test('a source that stalls mid-epoch: dataTimeoutMs ends the fit with TL_DATA_TIMEOUT instead of hanging', async () => {
    const { error, seen, trainer, alive } = await fitWith(
      batches({ at: 5, run: () => new Promise(() => undefined) }),
      { dataTimeoutMs: 150 },
    );
    expect(isTensorloopError(error, 'TL_DATA_TIMEOUT')).toBe(true);
    expect(error.message).toMatch(
      /gave nothing for 150 ms while the fit waited for batch 5 of epoch 0; .*raise fit\(\{ dataTimeoutMs \}\)/,
    );
    expect(seen.exceptions).toEqual(['TL_DATA_TIMEOUT']);
    expect(seen.fitEnds).toEqual(['TL_DATA_TIMEOUT']);
    expect(trainer.time.step).toBe(5);
    // The stalled generator's batches were its own (a plain iterable's batches belong to the caller):
    // only the 5 it yielded, which we own, are alive; the trainer holds nothing more.
    expect(alive).toBe(5 * 2);
  });

  test('a source that stalls before its first batch (the data check) times out too', async () => {
    const { error, seen } = await fitWith(batches({ at: 0, run: () => new Promise(() => undefined) }), {
      dataTimeoutMs: 100,
    });
    expect(isTensorloopError(error, 'TL_DATA_TIMEOUT')).toBe(true);
    expect(error.message).toContain('the first batch (checked before training)');
    expect(seen.fitEnds).toEqual([]); // the fit never started
  });

  test('dataTimeoutMs is checked', async () => {
    const trainer = new Trainer({
      model: model(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      log: 'silent',
    });
    await expect(trainer.fit({ x, y }, { epochs: 1, dataTimeoutMs: -5 })).rejects.toThrow(
      /TL_OPTION_INVALID.*dataTimeoutMs must be a positive number/,
    );
  });
});

describe('the disk fails during a save', () => {
  /** Makes every FileHandle.writeFile fail with ENOSPC while `full()` is true. */
  async function diskFullWhen(full: () => boolean): Promise<() => void> {
    const probe = await open(join(root, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { writeFile: (...a: unknown[]) => Promise<void> };
    await probe.close();
    const writeFile = proto.writeFile;
    proto.writeFile = function (this: unknown, ...args: unknown[]) {
      if (full())
        return Promise.reject(
          Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
        );
      return writeFile.apply(this, args);
    };
    return () => {
      proto.writeFile = writeFile;
    };
  }

  test('disk full on the third save: TL_CHECKPOINT_IO, no temporary left, the second save loads and resumes', async () => {
    const dir = join(root, 'full');
    const { plugin, seen } = witness();
    let saves = 0;
    const counter = definePlugin({
      name: 'counter',
      onEpochEnd: { order: 'pre', handler: () => void saves++ },
    });
    const trainer = new Trainer({
      model: model(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [counter, checkpoint({ dir }), plugin],
      log: 'silent',
    });
    const restore = await diskFullWhen(() => saves === 3);
    const before = tf.memory().numTensors;
    let error: TensorloopError;
    try {
      error = (await trainer
        .fit({ x, y }, { epochs: 4, batchSize: 8 })
        .catch((e: unknown) => e)) as TensorloopError;
    } finally {
      restore();
    }
    expect(isTensorloopError(error, 'TL_CHECKPOINT_IO')).toBe(true);
    expect(error.message).toMatch(/no space left on device.*the disk has space/);
    expect(tf.memory().numTensors).toBe(before);
    expect(seen.fitEnds).toEqual(['TL_CHECKPOINT_IO']);
    expect((await readdir(dir)).filter((e) => e.startsWith('.'))).toEqual([]);
    const resumed = await Trainer.load(join(dir, 'last'), { loss: 'categoricalCrossentropy', log: 'silent' });
    expect(resumed.time.epoch).toBe(2);
    const result = await resumed.fit({ x, y }, { epochs: 4, batchSize: 8 });
    expect(result.time.epoch).toBe(4);
  });

  /**
   * Makes the folder `dir` read-only (EROFS, as a read-only mount: root cannot chmod its way out
   * of that, and tests here may run as root): every write, rename or removal under it fails.
   */
  function readOnly(dir: string): () => void {
    // The CommonJS object is writable; syncBuiltinESMExports carries the change to ESM importers.
    const fs = createRequire(import.meta.url)('node:fs/promises') as Record<
      string,
      (...args: unknown[]) => Promise<unknown>
    >;
    const saved = { mkdir: fs.mkdir!, open: fs.open!, rename: fs.rename!, rm: fs.rm! };
    const under = (p: unknown) => typeof p === 'string' && (p === dir || p.startsWith(`${dir}/`));
    const refuse = (syscall: string, p: unknown) =>
      Promise.reject(
        Object.assign(new Error(`EROFS: read-only file system, ${syscall} '${String(p)}'`), {
          code: 'EROFS',
        }),
      );
    fs.mkdir = (p, o) =>
      under(p) && !(p === dir && (o as { recursive?: boolean })?.recursive)
        ? refuse('mkdir', p)
        : saved.mkdir(p, o);
    fs.open = (p, flags, ...rest) =>
      under(p) && /[wax+]/.test(String(flags ?? 'r')) ? refuse('open', p) : saved.open(p, flags, ...rest);
    fs.rename = (a, b) => (under(a) || under(b) ? refuse('rename', a) : saved.rename(a, b));
    fs.rm = (p, o) => (under(p) ? refuse('rm', p) : saved.rm(p, o));
    syncBuiltinESMExports();
    return () => {
      Object.assign(fs, saved);
      syncBuiltinESMExports();
    };
  }

  test('a read-only checkpoint folder: TL_CHECKPOINT_IO naming it, the checkpoint already there stays loadable', async () => {
    const dir = join(root, 'readonly');
    await mkdir(dir);
    const first = new Trainer({
      model: model(),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [checkpoint({ dir })],
      log: 'silent',
    });
    await first.fit({ x, y }, { epochs: 1, batchSize: 8 });
    const writable = readOnly(dir);
    try {
      const { plugin, seen } = witness();
      const trainer = new Trainer({
        model: model(),
        loss: 'categoricalCrossentropy',
        optimizer: tf.train.sgd(0.1),
        plugins: [checkpoint({ dir }), plugin],
        log: 'silent',
      });
      const before = tf.memory().numTensors;
      const error = (await trainer
        .fit({ x, y }, { epochs: 2, batchSize: 8 })
        .catch((e: unknown) => e)) as TensorloopError;
      expect(isTensorloopError(error, 'TL_CHECKPOINT_IO')).toBe(true);
      expect(error.message).toContain(`could not create ${join(dir, '.last.tl-tmp-')}`);
      expect(error.message).toMatch(/EROFS: read-only file system.*check that the path exists, is writable/);
      expect(tf.memory().numTensors).toBe(before);
      expect(seen.fitEnds).toEqual(['TL_CHECKPOINT_IO']);
      expect(trainer.time.epoch).toBe(0); // failed at its first save, the end of epoch 0
    } finally {
      writable();
    }
    const resumed = await Trainer.load(join(dir, 'last'), { loss: 'categoricalCrossentropy', log: 'silent' });
    expect(resumed.time.epoch).toBe(1);
    const result = await resumed.fit({ x, y }, { epochs: 2, batchSize: 8 });
    expect(result.time.epoch).toBe(2);
  });
});
