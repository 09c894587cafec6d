// A real crash: the first process is killed (SIGKILL) after the logs went past the last checkpoint;
// a fresh process resumes. The files end up as an uninterrupted run's.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { histogramsOf, scalarsOf } from './resume.test-util.js';
import { readText, tempDir } from './test-helpers.js';

const CHILD = fileURLToPath(new URL('./crash-child.fixture.mjs', import.meta.url));

function child(...args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  await tmp.cleanup();
});

describe('loggers after a real crash', () => {
  test('killed mid-epoch 3 (checkpoint after epoch 1), resumed in a new process: same CSV, JSON lines, TensorBoard', async () => {
    const straight = join(tmp.dir, 'straight');
    const run = join(tmp.dir, 'run');
    expect((await child('straight', straight, join(tmp.dir, 'ckpt-straight'))).code).toBe(0);
    const killed = await child('first', run, join(tmp.dir, 'ckpt'));
    expect(killed.signal).toBe('SIGKILL');
    // The killed process had written epoch 2 and batch scalars up to step 20 past the checkpoint.
    expect((await readText(join(run, 'training.csv'))).trimEnd().split('\n')).toHaveLength(4);
    expect((await scalarsOf(join(run, 'tb', 'train'))).has('batch_loss@20')).toBe(true);
    const resumed = await child('resume', run, join(tmp.dir, 'ckpt'));
    expect(resumed.stderr.includes('Error') ? resumed.stderr : '').toBe('');
    expect(resumed.code).toBe(0);

    expect(await readText(join(run, 'training.csv'))).toBe(await readText(join(straight, 'training.csv')));
    expect(await readText(join(run, 'training.jsonl'))).toBe(
      await readText(join(straight, 'training.jsonl')),
    );
    for (const r of ['train', 'validation']) {
      const a = [...(await scalarsOf(join(straight, 'tb', r))).entries()].sort();
      expect([...(await scalarsOf(join(run, 'tb', r))).entries()].sort()).toEqual(a);
    }
    expect(await histogramsOf(join(run, 'tb', 'train'))).toEqual(
      await histogramsOf(join(straight, 'tb', 'train')),
    );
  }, 120_000);
});
