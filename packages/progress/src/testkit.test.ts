// @tensorloop/testkit's conformance checks (leaks, resume in fresh processes, other plugins' stops,
// skips and errors, repeated fits, state, hyperparameter writes, timing) for the progress plugin.
import { checkPlugin } from '@tensorloop/testkit';
import { describe, expect, test } from 'vitest';

const dist = new URL('../dist/index.js', import.meta.url);

describe('@tensorloop/progress passes the testkit', { timeout: 240_000 }, () => {
  test('silent progress: every check passes', async () => {
    const report = await checkPlugin({ module: dist, export: 'progress', options: { silent: true } });
    expect(report.problems).toEqual([]);
  });
});
