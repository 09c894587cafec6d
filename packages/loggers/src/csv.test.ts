import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkpoint, checkpointExists, sgd } from '@tensorloop/core';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { csvLogger } from './csv.js';
import { parseRow } from './csv-format.js';
import { readText, script, smallData, smallTrainer, tempDir, warnings } from './test-helpers.js';

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

const rowsOf = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => parseRow(l, ','));

describe('csvLogger: Keras CSVLogger semantics', () => {
  test('header is epoch + the sorted keys of the first epoch; each row holds that epoch’s logs exactly', async () => {
    const path = join(tmp.dir, 'logs', 'training.csv'); // the folder is created
    const { trainer } = smallTrainer([csvLogger({ path })]);
    const { history } = await trainer.fit(data.train, { epochs: 3, batchSize: 8, validationData: data.val });
    const [header, ...rows] = rowsOf(await readText(path));
    expect(header).toEqual(['epoch', 'accuracy', 'loss', 'lr', 'smooth_loss', 'val_accuracy', 'val_loss']);
    expect(rows).toHaveLength(3);
    rows.forEach((row, i) => {
      expect(Number(row[0])).toBe(history[i]!.epoch);
      header!.slice(1).forEach((key, j) => {
        expect(Number(row[j + 1])).toBe(history[i]!.logs[key]); // shortest round-trip text: exact
      });
    });
    expect(history[2]!.logs.loss).toBeLessThan(history[0]!.logs.loss!); // it trained
  });

  test('a key missing in an epoch is NA; a new key appends a column with a warning; hparams add lr columns', async () => {
    const path = join(tmp.dir, 'training.csv');
    const { trainer, entries } = smallTrainer(
      [script({ f1: [0.5, undefined, 0.7], extra: [undefined, 2, 3] }), csvLogger({ path, hparams: ['lr'] })],
      { optimizer: sgd({ lr: 0.1, groups: [{ name: 'head', match: /^out\//, lr: 0.01 }] }) },
    );
    await trainer.fit(data.train, { epochs: 3, batchSize: 8 });
    const [header, ...rows] = rowsOf(await readText(path));
    expect(header).toEqual(['epoch', 'accuracy', 'f1', 'loss', 'lr', 'lr/head', 'smooth_loss', 'extra']);
    const col = (name: string) => header!.indexOf(name);
    expect(rows.map((r) => r[col('f1')])).toEqual(['0.5', 'NA', '0.7']);
    expect(rows.map((r) => r[col('extra')])).toEqual(['NA', '2', '3']);
    expect(rows.map((r) => Number(r[col('lr/head')]))).toEqual([0.01, 0.01, 0.01]);
    expect(rows.map((r) => Number(r[col('lr')]))).toEqual([0.1, 0.1, 0.1]);
    expect(warnings(entries, '@tensorloop/loggers:csv')).toEqual([
      expect.stringMatching(
        /^epoch 1 has a new key "extra": added a column to .*training\.csv \(earlier rows get NA\)/,
      ),
    ]);
  });

  test('append continues the file across trainers without a second header; without it each fit starts afresh', async () => {
    const path = join(tmp.dir, 'a.csv');
    const first = smallTrainer([csvLogger({ path, append: true })]).trainer;
    await first.fit(data.train, { epochs: 2, batchSize: 8 });
    const second = smallTrainer([csvLogger({ path, append: true })]).trainer;
    await second.fit(data.train, { epochs: 1, batchSize: 8 });
    const lines = (await readText(path)).trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('epoch,'))).toHaveLength(1);
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['0', '1', '0']);

    const fresh = join(tmp.dir, 'b.csv');
    const { trainer } = smallTrainer([csvLogger({ path: fresh })]);
    await trainer.fit(data.train, { epochs: 2, batchSize: 8 });
    await trainer.fit(data.train, { epochs: 1, batchSize: 8 }); // Keras: append=False overwrites per fit
    const again = (await readText(fresh)).trimEnd().split('\n');
    expect(again.map((l) => l.split(',')[0])).toEqual(['epoch', '2']); // time continues: global epoch 2
  });

  test('separator and Python-style non-finite values', async () => {
    const path = join(tmp.dir, 's.csv');
    const { trainer } = smallTrainer([
      script({ 'odd;key': [Number.NaN, Number.POSITIVE_INFINITY] }),
      csvLogger({ path, separator: ';' }),
    ]);
    await trainer.fit(data.train, { epochs: 2, batchSize: 8 });
    const lines = (await readText(path)).trimEnd().split('\n');
    expect(lines[0]).toBe('epoch;accuracy;loss;lr;"odd;key";smooth_loss');
    expect(parseRow(lines[1]!, ';')[4]).toBe('nan');
    expect(parseRow(lines[2]!, ';')[4]).toBe('inf');
  });

  test('a file it cannot write warns once, training goes on, and the checkpoint is written', async () => {
    const blocker = join(tmp.dir, 'not-a-folder');
    await writeFile(blocker, 'a file where a folder should be');
    const ckpt = join(tmp.dir, 'ckpt');
    const { trainer, entries } = smallTrainer([
      csvLogger({ path: join(blocker, 'training.csv') }),
      checkpoint({ dir: ckpt }),
    ]);
    const { history } = await trainer.fit(data.train, { epochs: 3, batchSize: 8 });
    expect(history).toHaveLength(3);
    expect(await checkpointExists(join(ckpt, 'last'))).toBe(true);
    const w = warnings(entries, '@tensorloop/loggers:csv');
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(
      /^starting failed \(.*(ENOTDIR|EEXIST).*\)\. This logger records nothing more in this fit; training goes on/,
    );
    expect(trainer.contextFor('x').plugin('@tensorloop/loggers:csv').failure).toMatch(/^starting:/);
  });

  test('options are checked when the logger is made', () => {
    expect(() => csvLogger({ path: '' })).toThrow(/TL_OPTION_INVALID.*path must be a file path/);
    expect(() => csvLogger({ path: 'x.csv', separator: '"' })).toThrow(/separator must be/);
  });
});
