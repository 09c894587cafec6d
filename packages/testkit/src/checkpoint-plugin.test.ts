// Core's own checkpoint() plugin through the kit. Core cannot devDepend on the testkit (a cycle), so
// it is checked here.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { checkPlugin } from './check-plugin.js';

const core = pathToFileURL(createRequire(import.meta.url).resolve('@tensorloop/core'));
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

test("core's checkpoint() plugin (best 2 by val_loss, every epoch and every 3 steps) passes the kit", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tl-kit-checkpoint-'));
  dirs.push(dir);
  const report = await checkPlugin(
    { module: core, export: 'checkpoint', options: { dir, monitor: 'val_loss', keepBest: 2, everySteps: 3 } },
    // Every run writes into the same directory: one at a time.
    { resume: { sequential: true } },
  );
  expect(report.problems).toEqual([]);
  expect(report.plugin).toBe('@tensorloop/core:checkpoint');
  expect(report.check('load')?.summary).toMatch(/enforce: post/);
  expect(report.check('parseState')?.summary).toMatch(/^parseState refused 5 garbage states/);
  expect((await readdir(dir)).filter((d) => d.startsWith('best-')).length).toBeLessThanOrEqual(2);
});
