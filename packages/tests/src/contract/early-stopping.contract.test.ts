import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { runResumeContract } from './harness.js';

const scenario = fileURLToPath(new URL('../../dist/scenarios/early-stopping.js', import.meta.url));

describe('resume contract: @tensorloop/early-stopping', () => {
  test('resumed mid-patience with restoreBestWeights, it stops at the same epoch with the same best weights', async () => {
    const report = await runResumeContract({ scenario, interruption: { afterEpoch: 5 } });
    expect(report.problems).toEqual([]);
    expect(report.maxWeightDiff).toBeLessThanOrEqual(1e-6);
    // The checkpoint was taken after epoch 4, one epoch into the patience, the best epoch before it.
    const atCheckpoint = report.decisions.find((d) => (d as { epoch?: number }).epoch === 4);
    expect(atCheckpoint).toMatchObject({ bestEpoch: 3, wait: 1 });
    expect(report.decisions.at(-1)).toEqual({ stoppedEpoch: 6 });
    expect(report.straight.history).toHaveLength(7);
    expect(report.resumed.stopReason).toEqual({
      by: '@tensorloop/early-stopping',
      message: expect.stringMatching(
        /^no improvement in val_loss for 3 epochs \(best val_loss 0\.80\d* at epoch 3\)/,
      ),
    });
    // restoreBestWeights: the final weights are epoch 3's, not epoch 6's, in both runs (equal above).
    const valLoss = (i: number) =>
      (report.straight.history[i] as { logs: { val_loss: number } }).logs.val_loss;
    expect(valLoss(3)).toBeLessThan(Math.min(valLoss(4), valLoss(5), valLoss(6)));
  });
});
