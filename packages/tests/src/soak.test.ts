/**
 * The soak run (issue 20, point 6): 15,000 optimizer steps of a tiny model with every first-party
 * plugin active (amp, finetune-scheduler, reduce-on-plateau, early stopping, checkpoint, the three
 * loggers, progress, report; two stages through the meta-trainer), in a child process started with
 * `--expose-gc` so the RSS is measured after a full collection. After a warm-up of a fifth of the
 * run (a whole first stage, its fit end included), `numTensors` and `numBytes` must not move at all across epoch ends, and the RSS must grow by
 * less than 5%.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { SoakResult, SoakSample } from './soak/soak-run.js';

const STEPS = 15_000;
const runner = fileURLToPath(new URL('../dist/soak/soak-run.js', import.meta.url));

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tl-soak-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

test(`soak: ${STEPS} steps with every first-party plugin: flat numTensors/numBytes after warm-up, RSS growth under 5%`, async () => {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', runner, root, String(STEPS)],
    {
      env,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as SoakResult;
  expect(result.steps).toBeGreaterThanOrEqual(STEPS);
  expect(result.plugins).toEqual(
    expect.arrayContaining([
      '@tensorloop/amp',
      '@tensorloop/finetune-scheduler',
      '@tensorloop/lr-schedules:plateau',
      '@tensorloop/early-stopping',
      '@tensorloop/core:checkpoint',
      '@tensorloop/progress',
      '@tensorloop/report',
    ]),
  );
  // Warm-up: the first fifth, which holds the first stage's whole fit (its end, the report's first
  // write, the stage change: one-time allocations).
  const warm = result.samples.filter((s) => s.step >= result.steps / 5);
  const tensors = new Set(warm.map((s) => s.numTensors));
  const bytes = new Set(warm.map((s) => s.numBytes));
  const rss = warm.filter((s): s is SoakSample & { rss: number } => s.rss !== undefined);
  const quarter = Math.max(3, Math.floor(rss.length / 4));
  const early = median(rss.slice(0, quarter).map((s) => s.rss));
  const late = median(rss.slice(-quarter).map((s) => s.rss));
  const growth = late / early - 1;
  console.log(
    `soak: ${result.steps} steps, ${result.epochs} epochs in ${result.seconds.toFixed(1)} s ` +
      `(${((1000 * result.seconds) / result.steps).toFixed(2)} ms/step); after warm-up numTensors ` +
      `${[...tensors].join('/')}, numBytes ${[...bytes].join('/')}; RSS ${(early / 2 ** 20).toFixed(1)} → ` +
      `${(late / 2 ** 20).toFixed(1)} MiB (${(100 * growth).toFixed(2)}%), heap ` +
      `${(rss[0]!.heapUsed! / 2 ** 20).toFixed(1)} → ${(rss.at(-1)!.heapUsed! / 2 ** 20).toFixed(1)} MiB`,
  );
  expect([...tensors]).toHaveLength(1);
  expect([...bytes]).toHaveLength(1);
  expect(rss.length).toBeGreaterThanOrEqual(12);
  expect(growth).toBeLessThan(0.05);
}, 300_000);
