import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { checkPlugin } from './check-plugin.js';
import { warmupWithMean } from './fixtures/well-behaved.js';
import { WELL_BEHAVED } from './fixtures.test-util.js';
import { assertWellBehaved, CHECK_NAMES } from './report.js';

describe('checkPlugin on a well-behaved plugin', () => {
  test('every check passes, each with a readable summary, and the resume check ran in fresh processes', async () => {
    const before = tf.memory().numTensors;
    const report = await checkPlugin({
      module: WELL_BEHAVED,
      export: 'warmupWithMean',
      options: { steps: 5 },
    });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.plugin).toBe('tensorloop-fixture-warmup');
    expect(report.checks.map((c) => c.name)).toEqual(CHECK_NAMES);
    expect(report.checks.every((c) => c.status === 'pass')).toBe(true);
    expect(report.check('resume')?.summary).toMatch(/resumed in a fresh process: same weights/);
    expect(report.check('hparams')?.summary).toMatch(
      /^declares lr \(multiply\); wrote lr \(\d+ writes, in onBatchStart\)$/,
    );
    // Two interruptions by default: after epoch 1 and mid-epoch 1 (4 steps per epoch → step 6).
    expect(report.resume.map((r) => r.interruption)).toEqual([{ afterEpoch: 1 }, { atStep: 6 }]);
    const steps = report.resume[1]!.straight.decisions.filter((d) => (d as { at: string }).at === 'step');
    expect(steps).toHaveLength(12);
    expect(
      steps.map((d) => (d as { hparams: Record<string, number> }).hparams['lr(default)'])[0],
    ).toBeCloseTo(0.01 * 0.2, 12);
    expect(report.timing.map((t) => t.hook).sort()).toEqual([
      'onBatchEnd',
      'onBatchStart',
      'onEpochEnd',
      'onFitEnd',
      'onFitStart',
    ]);
    expect(report.format()).toMatch(/^checkPlugin tensorloop-fixture-warmup: 11 passed, 0 failed, 0 skipped/);
    expect(() => assertWellBehaved(report)).not.toThrow();
    // The kit frees what it made, and gives the backend back.
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.getBackend()).toBe('cpu');
  });

  test('a factory function is checked in this process, and the report says how to get fresh processes', async () => {
    const report = await checkPlugin(() => warmupWithMean(), {
      checks: { leaks: false, stop: false, skipBatch: false, error: false, refit: false, timing: false },
    });
    expect(report.problems).toEqual([]);
    const resume = report.check('resume')!;
    expect(resume.summary).toMatch(/resumed in a fresh trainer/);
    expect(resume.notes[0]).toMatch(/pass \{ module, export, options \} to resume in a fresh process/);
    expect(report.checks.map((c) => c.name)).toEqual(['load', 'resume', 'state', 'parseState', 'hparams']);
  });

  test('a timing budget turns the timing report into a check', async () => {
    const report = await checkPlugin(() => warmupWithMean(), {
      checks: { leaks: false, resume: false, stop: false, skipBatch: false, error: false, refit: false },
      timing: { budgetMs: { onBatchStart: 0 } },
    });
    expect(report.check('timing')?.status).toBe('fail');
    expect(report.problems[0]).toMatch(
      /^timing: onBatchStart took \d+\.\d\d ms per call on average .* over its budget of 0 ms$/,
    );
    expect(() => assertWellBehaved(report)).toThrow(
      /tensorloop-fixture-warmup is not well-behaved:\ncheckPlugin/,
    );
  });

  test('a module that does not export the factory fails to load, with the exports it has', async () => {
    const report = await checkPlugin({ module: WELL_BEHAVED, export: 'nope' });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      expect.stringMatching(
        /^load: .*well-behaved\.js has no function export 'nope' \(its function exports: warmupWithMean\)\.$/,
      ),
    ]);
  });

  test('a relative module path is refused with the fix', async () => {
    const report = await checkPlugin({ module: './my-plugin.js', export: 'x' });
    expect(report.problems[0]).toContain("Pass new URL('./my-plugin.js', import.meta.url)");
  });
});
