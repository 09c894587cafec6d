// Resume: an interrupted run and its resumed run leave the same files as an uninterrupted run.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkpoint, definePlugin, type Plugin } from '@tensorloop/core';
import { afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { csvLogger } from './csv.js';
import { listEventFiles } from './event-file.js';
import { jsonLines } from './json-lines.js';
import { LogFile } from './log-file.js';
import { scalarsOf } from './resume.test-util.js';
import { tensorBoard } from './tensorboard.js';
import { failAt, readText, script, smallData, smallTrainer, tempDir, warnings } from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

let tmp: Awaited<ReturnType<typeof tempDir>>;
let data: ReturnType<typeof smallData>;
beforeEach(async () => {
  tmp = await tempDir();
  data = smallData();
});
afterEach(async () => {
  data.dispose();
  await tmp.cleanup();
});

function loggers(dir: string, extra: { updateFreq?: number } = {}): Plugin[] {
  return [
    // A key that appears only from epoch 4 on: after the checkpoint, so the CSV header changes after it.
    script({ late_metric: [undefined, undefined, undefined, undefined, 0.25, 0.5] }),
    csvLogger({ path: join(dir, 'training.csv') }),
    jsonLines({ path: join(dir, 'training.jsonl'), timestamps: false }),
    tensorBoard({ logDir: join(dir, 'tb'), ...(extra.updateFreq ? { updateFreq: extra.updateFreq } : {}) }),
  ];
}

/** Throws from onBatchEnd once the global step reaches `step`: a failure in the middle of an epoch. */
const failAtStep = (step: number): Plugin =>
  definePlugin({
    name: 'test:fail-step',
    enforce: 'post',
    after: ['checkpoint'],
    onBatchEnd(ctx) {
      if (ctx.time.step === step) throw new Error(`simulated crash at step ${step}`);
    },
  });

async function expectSameFiles(straight: string, resumed: string) {
  expect(await readText(join(resumed, 'training.csv'))).toBe(await readText(join(straight, 'training.csv')));
  expect(await readText(join(resumed, 'training.jsonl'))).toBe(
    await readText(join(straight, 'training.jsonl')),
  );
  for (const run of ['train', 'validation']) {
    const a = await scalarsOf(join(straight, 'tb', run));
    const b = await scalarsOf(join(resumed, 'tb', run));
    expect(a.size).toBeGreaterThan(0);
    expect([...b.entries()].sort()).toEqual([...a.entries()].sort()); // each tag@step once, same value
  }
}

describe('loggers survive resume', () => {
  test('crash after epoch 4, resume from the epoch-3 checkpoint: same CSV, JSON lines and TensorBoard scalars', async () => {
    const fit = { epochs: 6, batchSize: 8, validationData: data.val };
    const straight = join(tmp.dir, 'straight');
    const { trainer: a } = smallTrainer(loggers(straight));
    const full = await a.fit(data.train, fit);

    const run = join(tmp.dir, 'run');
    const ckpt = join(tmp.dir, 'ckpt');
    const first = smallTrainer([
      ...loggers(run),
      checkpoint({ dir: ckpt, everyEpochs: 2 }),
      failAt(4),
    ]).trainer;
    await expect(first.fit(data.train, fit)).rejects.toThrow(/simulated crash after epoch 4/);
    // The interrupted run wrote epoch 4 (and its new column) after the checkpoint of epoch 3.
    expect((await readText(join(run, 'training.csv'))).split('\n')[0]).toContain('late_metric');
    expect((await readText(join(run, 'training.jsonl'))).trimEnd().split('\n')).toHaveLength(5);

    const second = smallTrainer([...loggers(run), checkpoint({ dir: ckpt, everyEpochs: 2 })]);
    const resumed = await second.trainer.fit(data.train, { ...fit, resumeFrom: join(ckpt, 'last') });
    expect(resumed.history.map((h) => h.logs.loss)).toEqual(full.history.map((h) => h.logs.loss));
    await expectSameFiles(straight, run);
    // A resumed run writes a new events file per run and cuts the old one back to the checkpoint.
    expect(await listEventFiles(join(run, 'tb', 'train'))).toHaveLength(2);
    expect(warnings(second.entries).filter((w) => !w.includes('new key'))).toEqual([]);
  });

  test('mid-epoch checkpoint with per-step TensorBoard scalars: no step twice, none missing', async () => {
    const fit = { epochs: 3, batchSize: 8, validationData: data.val };
    const straight = join(tmp.dir, 'straight');
    await smallTrainer(loggers(straight, { updateFreq: 2 })).trainer.fit(data.train, fit);

    const run = join(tmp.dir, 'run');
    const ckpt = join(tmp.dir, 'ckpt');
    // 6 steps per epoch: checkpoints at steps 4 and 8, the failure at step 11 (steps 10 was logged after the last checkpoint).
    const first = smallTrainer([
      ...loggers(run, { updateFreq: 2 }),
      checkpoint({ dir: ckpt, everySteps: 4 }),
      failAtStep(11),
    ]);
    await expect(first.trainer.fit(data.train, fit)).rejects.toThrow(/simulated crash at step 11/);
    expect((await scalarsOf(join(run, 'tb', 'train'))).has('batch_loss@10')).toBe(true);

    const second = smallTrainer([
      ...loggers(run, { updateFreq: 2 }),
      checkpoint({ dir: ckpt, everySteps: 4 }),
    ]);
    await second.trainer.fit(data.train, { ...fit, resumeFrom: join(ckpt, 'last') });
    await expectSameFiles(straight, run);
    const steps = [...(await scalarsOf(join(run, 'tb', 'train'))).keys()]
      .filter((k) => k.startsWith('batch_loss@'))
      .map((k) => Number(k.split('@')[1]));
    expect(steps.sort((x, y) => x - y)).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18]);
  });

  test('disk full in the middle of a run: a warning, training goes on, and the resumed run repairs the files', async () => {
    const fit = { epochs: 6, batchSize: 8, validationData: data.val };
    const straight = join(tmp.dir, 'straight');
    await smallTrainer(loggers(straight)).trainer.fit(data.train, fit);

    const run = join(tmp.dir, 'run');
    const ckpt = join(tmp.dir, 'ckpt');
    const realAppend = LogFile.prototype.append;
    // Every write to the CSV file fails from epoch 2 on (ENOSPC); the other files are fine.
    const spy = vi.spyOn(LogFile.prototype, 'append').mockImplementation(async function (this: LogFile, d) {
      if (
        this.path.endsWith('.csv') &&
        this.bytes > 0 &&
        (await readText(this.path)).split('\n').length > 3
      ) {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      return realAppend.call(this, d);
    });
    const first = smallTrainer([...loggers(run), checkpoint({ dir: ckpt }), failAt(3)]);
    try {
      await expect(first.trainer.fit(data.train, fit)).rejects.toThrow(/simulated crash after epoch 3/);
    } finally {
      spy.mockRestore();
    }
    expect(warnings(first.entries, '@tensorloop/loggers:csv')).toEqual([
      expect.stringMatching(
        /^recording epoch 2 failed \(ENOSPC: no space left on device, write\)\. This logger records nothing more/,
      ),
    ]);
    expect((await readText(join(run, 'training.csv'))).trimEnd().split('\n')).toHaveLength(3); // header + epochs 0, 1
    expect((await readText(join(run, 'training.jsonl'))).trimEnd().split('\n')).toHaveLength(4); // not affected

    // The checkpoint after epoch 3 kept the CSV logger's last good position; the resume replays epochs 2 and 3.
    await smallTrainer([...loggers(run), checkpoint({ dir: ckpt })]).trainer.fit(data.train, {
      ...fit,
      resumeFrom: join(ckpt, 'last'),
    });
    await expectSameFiles(straight, run);
  });

  test('a checkpoint taken before the first epoch end: the events written after it are cut back too', async () => {
    const fit = { epochs: 2, batchSize: 8, validationData: data.val };
    const straight = join(tmp.dir, 'straight');
    await smallTrainer(loggers(straight)).trainer.fit(data.train, fit);
    const run = join(tmp.dir, 'run');
    const ckpt = join(tmp.dir, 'ckpt');
    // Mid-epoch checkpoints at steps 2, 4 and 6 (the last one in epoch 0's final batch, before its end).
    const first = smallTrainer([...loggers(run), checkpoint({ dir: ckpt, everySteps: 2 }), failAt(0)]);
    await expect(first.trainer.fit(data.train, fit)).rejects.toThrow(/simulated crash after epoch 0/);
    expect((await scalarsOf(join(run, 'tb', 'validation'))).get('epoch_loss@0')).toHaveLength(1);
    await smallTrainer([...loggers(run), checkpoint({ dir: ckpt, everySteps: 2 })]).trainer.fit(data.train, {
      ...fit,
      resumeFrom: join(ckpt, 'last'),
    });
    await expectSameFiles(straight, run);
  });
});
