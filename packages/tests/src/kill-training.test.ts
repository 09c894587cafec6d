/**
 * SIGKILL during training and during checkpoint writes (issue 20, point 3): a child process trains
 * with `checkpoint({ everySteps })` and is killed at random moments, again and again, each child
 * resuming from what the last one left. After every kill the checkpoint loads, holds exactly the
 * weights the child reported for that step (or is the one it was committing), and the next child
 * resumes from it. Writes are killed mid-way too (the core kill test, `atomic-dir.kill.test.ts`,
 * covers every phase of a write many times; here it is a whole trainer).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { definePlugin, stop, Trainer } from '@tensorloop/core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { checksum, EVERY, killData } from './kill/train-child.js';

const KILLS = 8;
const child = fileURLToPath(new URL('../dist/kill/train-child.js', import.meta.url));

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'tl-kill-train-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Run {
  process: ChildProcess;
  ready: Promise<number>;
  saved: Map<number, number>;
  closed: Promise<void>;
}

function start(dir: string): Run {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const proc = spawn(process.execPath, [child, dir], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const saved = new Map<number, number>();
  let stderr = '';
  let buffered = '';
  let onReady: (step: number) => void = () => undefined;
  const ready = new Promise<number>((resolve) => {
    onReady = resolve;
  });
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const r = /^ready (\d+)$/.exec(line);
      if (r) onReady(Number(r[1]));
      const s = /^saved (\d+) ([\d.e+-]+)$/.exec(line);
      if (s) saved.set(Number(s[1]), Number(s[2]));
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const closed = new Promise<void>((resolve, reject) => {
    proc.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`child exited with ${code ?? signal} before it was killed:\n${stderr}`));
    });
  });
  closed.catch(() => onReady(-1));
  return { process: proc, ready, saved, closed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(`SIGKILL at ${KILLS} random moments of training: each time the checkpoint loads with the reported weights and the next process resumes from it`, async () => {
  const dir = join(root, 'ckpt');
  let lastStep = 0;
  const midWrite: number[] = [];
  for (let kill = 0; kill < KILLS; kill++) {
    const run = start(dir);
    const from = await run.ready;
    expect(from).toBe(lastStep); // resumed from what the previous kill left
    // Wait for a few saves, then kill at a random moment within the next ones.
    while (run.saved.size < 2) await sleep(5);
    await sleep(Math.random() * 150);
    run.process.kill('SIGKILL');
    await run.closed;
    const leftovers = (await readdir(dir)).filter((e) => e.startsWith('.'));
    if (leftovers.length > 0) midWrite.push(kill);

    const loaded = await Trainer.load(join(dir, 'last'), { loss: 'categoricalCrossentropy', log: 'silent' });
    const step = loaded.time.step;
    const reported = Math.max(...run.saved.keys());
    // The last save reported, or the one committed after it when the kill came before the report.
    expect([reported, reported + EVERY]).toContain(step);
    if (run.saved.has(step)) expect(checksum(loaded.model)).toBe(run.saved.get(step));
    lastStep = step;
  }
  console.log(
    `kill-training: ${KILLS} kills, last at step ${lastStep}, ${midWrite.length} left a write's temporary behind (removed by the next write)`,
  );
  // A last process-free check: the final checkpoint trains on in this process.
  const data = killData();
  const soon = definePlugin({
    name: 'stop-soon',
    onBatchEnd: (ctx) => (ctx.time.step >= lastStep + 3 ? stop('three more steps') : undefined),
  });
  const resumed = await Trainer.load(join(dir, 'last'), {
    loss: 'categoricalCrossentropy',
    plugins: [soon],
    log: 'silent',
  });
  const result = await resumed.fit(data, { epochs: 1_000, batchSize: 16 });
  expect(result.time.step).toBeGreaterThan(lastStep);
  expect(result.history.every((h) => Number.isFinite(h.logs.loss))).toBe(true);
  tf.dispose([data.x, data.y]);
}, 150_000);
