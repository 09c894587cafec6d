// @tensorloop/testkit's conformance checks (leaks, resume in fresh processes, other plugins' stops,
// skips and errors, repeated fits, state and parseState, hyperparameter writes, timing) for the report.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPlugin } from '@tensorloop/testkit';
import { describe, expect, test } from 'vitest';

const dist = new URL('../dist/index.js', import.meta.url);

describe('@tensorloop/report passes the testkit', { timeout: 300_000 }, () => {
  test("report({ write: 'manual' }): every check passes, wall-clock fields compared by kind", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tl-report-kit-')), 'report');
    const result = await checkPlugin(
      { module: dist, export: 'report', options: { dir, write: 'manual' } },
      // When the recording began and how long each fit and epoch took differ in every run.
      { resume: { volatileState: ['created', 'fits.*.seconds', 'epochs.*.seconds'] } },
    );
    expect(result.problems).toEqual([]);
  });
});
