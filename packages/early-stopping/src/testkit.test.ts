// @tensorloop/testkit's conformance checks for early stopping, and the resume contract on real MNIST
// (moved here from packages/tests, where it needed a hand-compiled scenario module).
import { checkPlugin, type PluginReport } from '@tensorloop/testkit';
import { describe, expect, test } from 'vitest';

// The built package, as a user's process imports it: the resume check imports it in fresh processes.
const dist = new URL('../dist/index.js', import.meta.url);

// Child processes on a loaded machine: more time than this package's default 60 s per test.
describe('@tensorloop/early-stopping passes the testkit', { timeout: 240_000 }, () => {
  test('patience 1 with restoreBestWeights: every check passes', async () => {
    const report = await checkPlugin({
      module: dist,
      export: 'earlyStopping',
      options: { monitor: 'val_loss', patience: 1, restoreBestWeights: true, verbose: false },
    });
    expect(report.problems).toEqual([]);
    expect(report.checks.filter((c) => c.status === 'skip')).toEqual([]);
  });

  describe('resume contract on real MNIST: val_loss bottoms out at epoch 3 and rises (overfitting)', () => {
    let report: PluginReport;
    type EpochDecision = { at: string; epoch: number; states: Record<string, Record<string, unknown>> };
    const state = (d: unknown) => (d as EpochDecision).states['@tensorloop/early-stopping']!;

    test('resumed mid-patience with restoreBestWeights, it stops at the same epoch with the same best weights', async () => {
      report = await checkPlugin(
        {
          module: dist,
          export: 'earlyStopping',
          options: { monitor: 'val_loss', patience: 3, restoreBestWeights: true, verbose: false },
        },
        {
          // 400 training and 100 validation digits, core Adam (its state round-trips exactly).
          setup: {
            task: 'mnist',
            samples: 400,
            validationSamples: 100,
            epochs: 10,
            batchSize: 32,
            seed: 11,
            modelSeed: 1,
          },
          // The other checks ran above on the small setup; here only the contract.
          checks: {
            leaks: false,
            stop: false,
            skipBatch: false,
            error: false,
            refit: false,
            state: false,
            parseState: false,
            hparams: false,
            timing: false,
          },
          resume: { interruptions: [{ afterEpoch: 5 }] },
        },
      );
      expect(report.problems).toEqual([]);
      const [outcome] = report.resume;
      expect(outcome!.maxWeightDiff).toBeLessThanOrEqual(1e-6);
      // The checkpoint was taken after epoch 4, one epoch into the patience, the best epoch before it.
      const atCheckpoint = outcome!.decisions.find(
        (d) => (d as EpochDecision).at === 'epoch' && (d as EpochDecision).epoch === 4,
      );
      expect(state(atCheckpoint)).toMatchObject({ bestEpoch: 3, wait: 1 });
      expect(state(outcome!.decisions.at(-1))).toMatchObject({ stoppedEpoch: 6 });
      expect(outcome!.straight.history).toHaveLength(7);
      expect(outcome!.resumed.stopReason).toEqual({
        by: '@tensorloop/early-stopping',
        message: expect.stringMatching(
          /^no improvement in val_loss for 3 epochs \(best val_loss 0\.80\d* at epoch 3\)/,
        ),
      });
      // restoreBestWeights: the final weights are epoch 3's, not epoch 6's, in both runs (equal above).
      const valLoss = (i: number) => outcome!.straight.history[i]!.logs.val_loss!;
      expect(valLoss(3)).toBeLessThan(Math.min(valLoss(4), valLoss(5), valLoss(6)));
    });
  });
});
