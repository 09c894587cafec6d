import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { jsonLines } from './json-lines.js';
import { readText, script, smallData, smallTrainer, tempDir } from './test-helpers.js';

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

const linesOf = async (path: string) =>
  (await readText(path))
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('jsonLines', () => {
  test('one object per epoch: epoch, step, every log value, lr, and the time', async () => {
    const path = join(tmp.dir, 'out', 'training.jsonl');
    const before = Date.now();
    const { trainer } = smallTrainer([jsonLines({ path })]);
    const { history } = await trainer.fit(data.train, { epochs: 3, batchSize: 8, validationData: data.val });
    const lines = await linesOf(path);
    expect(lines).toHaveLength(3);
    lines.forEach((line, i) => {
      const { time, ...rest } = line;
      expect(rest).toEqual({ epoch: i, step: 6 * (i + 1), ...history[i]!.logs, lr: 0.1 });
      expect(Object.keys(line).slice(0, 3)).toEqual(['epoch', 'step', 'loss']);
      const t = Date.parse(time as string);
      expect(t).toBeGreaterThanOrEqual(before - 1000);
      expect(t).toBeLessThanOrEqual(Date.now());
    });
  });

  test('non-finite values are null; timestamps can be left out; append continues the file', async () => {
    const path = join(tmp.dir, 'training.jsonl');
    const options = { path, timestamps: false, hparams: false as const, append: true };
    await smallTrainer([
      script({ ratio: [Number.NaN, Number.NEGATIVE_INFINITY] }),
      jsonLines(options),
    ]).trainer.fit(data.train, { epochs: 2, batchSize: 8 });
    await smallTrainer([jsonLines(options)]).trainer.fit(data.train, { epochs: 1, batchSize: 8 });
    const lines = await linesOf(path);
    // `lr` comes with core's epoch logs; `hparams: false` adds nothing from the store (no momentum).
    expect(lines.map((l) => [l.epoch, l.ratio, 'time' in l, 'lr' in l, 'momentum' in l])).toEqual([
      [0, null, false, true, false],
      [1, null, false, true, false],
      [0, undefined, false, true, false],
    ]);
  });
});
