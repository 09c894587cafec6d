// @tensorloop/testkit's conformance checks (leaks on cpu and wasm, resume in fresh processes, other
// plugins' stops/skips/errors, refits, state, parseState, hyperparameter writes, timing).
import { checkPlugin } from '@tensorloop/testkit';
import { describe, expect, test } from 'vitest';

// The built package, as a user's process imports it: the resume check imports it in fresh processes.
const dist = new URL('../dist/index.js', import.meta.url);

// Child processes on a loaded machine: more time than this package's default 60 s per test.
describe('@tensorloop/finetune-scheduler passes the testkit', { timeout: 240_000 }, () => {
  test('two phases on the kit classifier, a transition at epoch 1 and a per-step lr schedule: every check passes', async () => {
    const report = await checkPlugin({
      module: dist,
      export: 'finetuneScheduler',
      options: {
        schedule: {
          0: { params: ['tk_out/.*'], maxTransitionEpoch: 1 },
          1: {
            params: ['tk_hidden/.*'],
            lr: 0.005,
            newLrSchedule: { fn: 'cosine', args: { from: 1, to: 0.1 }, every: 'step' },
          },
        },
        earlyStopping: { patience: 3 },
        logDir: false,
      },
    });
    expect(report.problems).toEqual([]);
    expect(report.checks.filter((c) => c.status === 'skip')).toEqual([]);
    expect(report.check('hparams')?.summary).toMatch(/^declares lr \(set\); wrote lr/);
  });

  test('the implicit schedule on the kit MNIST model with BatchNorm (frozenBatchNorm track, restoreBest)', async () => {
    const report = await checkPlugin(
      {
        module: dist,
        export: 'finetuneScheduler',
        options: { earlyStopping: { patience: 1 }, frozenBatchNorm: 'track', logDir: false },
      },
      { setup: { task: 'mnist', epochs: 4 }, backends: ['cpu'], checks: { timing: false } },
    );
    expect(report.problems).toEqual([]);
  });
});
