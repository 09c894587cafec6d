// A cross-package scenario through the testkit: early stopping (restoring the best weights) with
// reduce-on-plateau and core's checkpoint() in the same trainer. Each package checks its plugins
// alone in its own suite; this checks them together, resumed in fresh processes.
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkPlugin } from '@tensorloop/testkit';
import { afterAll, expect, test } from 'vitest';

const entry = (pkg: string) => pathToFileURL(createRequire(import.meta.url).resolve(pkg));
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

test('early stopping with reduce-on-plateau and checkpoint(): the kit passes, decisions survive a resume', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tl-together-'));
  dirs.push(dir);
  const report = await checkPlugin(
    {
      module: entry('@tensorloop/early-stopping'),
      export: 'earlyStopping',
      options: { monitor: 'val_loss', patience: 2, restoreBestWeights: true, verbose: false },
    },
    {
      with: [
        {
          module: entry('@tensorloop/lr-schedules'),
          export: 'reduceOnPlateau',
          options: { monitor: 'val_loss', patience: 0, factor: 0.5, threshold: 0.05 },
        },
        { module: entry('@tensorloop/core'), export: 'checkpoint', options: { dir, monitor: 'val_loss' } },
      ],
      setup: { epochs: 5, optimizer: { type: 'adam', lr: 0.05 } },
      // checkpoint() writes into one directory: one run at a time.
      resume: { sequential: true, interruptions: [{ afterEpoch: 2 }] },
      backends: ['cpu'],
    },
  );
  expect(report.problems).toEqual([]);
  const [outcome] = report.resume;
  const fitEnd = outcome!.straight.decisions.at(-1) as {
    at: string;
    states: Record<string, { reductions?: unknown[] }>;
  };
  expect(fitEnd.at).toBe('fitEnd');
  // All three plugins' states were compared at every epoch end, plateau reductions included.
  expect(Object.keys(fitEnd.states).sort()).toEqual([
    '@tensorloop/core:checkpoint',
    '@tensorloop/early-stopping',
    '@tensorloop/lr-schedules:plateau',
  ]);
});
