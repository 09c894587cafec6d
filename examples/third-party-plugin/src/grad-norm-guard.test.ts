// The plugin's conformance tests with @tensorloop/testkit, under Node's own test runner (compiled by
// tsc with the rest; `npm test` runs `node --test dist/`): what a plugin author without Vitest writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertWellBehaved, checkPlugin } from '@tensorloop/testkit';

// The compiled plugin module: the kit's resume check imports it in fresh Node processes.
const plugin = { module: new URL('./grad-norm-guard.js', import.meta.url), export: 'gradNormGuard' };

test('the guard passes every check of the kit', async () => {
  const report = await checkPlugin({ ...plugin, options: { spikeFactor: 5, maxSpikes: 3 } });
  assertWellBehaved(report); // throws with the whole report when a check fails
  assert.equal(report.checks.filter((c) => c.status === 'skip').length, 0);
});

test('resumed mid-epoch, the guard has the same spikes and grad_norm as an uninterrupted run', async () => {
  // A low spike factor makes spikes frequent, so there are decisions to compare.
  const report = await checkPlugin(
    { ...plugin, options: { spikeFactor: 1.05 } },
    {
      checks: { leaks: false, stop: false, skipBatch: false, error: false, refit: false, timing: false },
      resume: { interruptions: [{ atStep: 6 }] },
    },
  );
  assertWellBehaved(report);
  const [outcome] = report.resume;
  assert.ok(outcome);
  const history = outcome.resumed.history;
  assert.ok(history.every((h) => typeof h.logs.grad_norm === 'number'));
  const last = outcome.decisions.at(-1) as { states: Record<string, { spikes: number }> };
  assert.ok(last.states['tfjs-loop-plugin-grad-norm-guard']!.spikes > 0);
});
