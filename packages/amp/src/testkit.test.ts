// @tensorloop/testkit's conformance checks for amp: leaks on cpu and wasm, the resume contract in
// fresh processes, good manners when other plugins stop, skip or throw, state and parseState,
// hyperparameter writes (none), hook timing. With float16 emulation, so the rounding is on too.
import { checkPlugin } from '@tensorloop/testkit';
import { describe, expect, test } from 'vitest';

// The built package, as a user's process imports it: the resume check imports it in fresh processes.
const dist = new URL('../dist/index.js', import.meta.url);

describe('@tensorloop/amp passes the testkit', { timeout: 240_000 }, () => {
  test("amp({ precision: 'float16' }) with dynamic scaling: every check passes", async () => {
    const report = await checkPlugin({
      module: dist,
      export: 'amp',
      options: { precision: 'float16', initialScale: 256, growthInterval: 3 },
    });
    expect(report.problems).toEqual([]);
    expect(report.checks.filter((c) => c.status === 'skip')).toEqual([]);
  });
});
