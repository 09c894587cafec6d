// @tensorloop/testkit's conformance checks (leaks, resume in fresh processes, other plugins' stops,
// skips and errors, repeated fits, state and parseState, hyperparameter writes, timing) for the
// file loggers. Each writes a file at a fixed path, so the resume runs take turns.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPlugin } from '@tensorloop/testkit';
import { describe, expect, test } from 'vitest';

const dist = new URL('../dist/index.js', import.meta.url);
const folder = () => mkdtempSync(join(tmpdir(), 'tl-loggers-kit-'));

describe('@tensorloop/loggers pass the testkit', { timeout: 300_000 }, () => {
  test('csvLogger: every check passes', async () => {
    const path = join(folder(), 'training.csv');
    const result = await checkPlugin(
      { module: dist, export: 'csvLogger', options: { path } },
      { resume: { sequential: true } },
    );
    expect(result.problems).toEqual([]);
  });

  test('jsonLines: every check passes', async () => {
    const path = join(folder(), 'training.jsonl');
    const result = await checkPlugin(
      { module: dist, export: 'jsonLines', options: { path } },
      { resume: { sequential: true } },
    );
    expect(result.problems).toEqual([]);
  });

  test('tensorBoard with batch scalars: every check passes', async () => {
    const logDir = join(folder(), 'runs');
    const result = await checkPlugin(
      { module: dist, export: 'tensorBoard', options: { logDir, updateFreq: 2 } },
      // A resumed fit writes a new events file per run (named by creation time and process id, as
      // TensorBoard's writers do), so the file and its length differ by design; that the scalars are the
      // same is checked with TensorBoard's own reader in resume.test.ts.
      { resume: { sequential: true, volatileState: ['sink.runs.*.file', 'sink.runs.*.bytes'] } },
    );
    expect(result.problems).toEqual([]);
  });
});
