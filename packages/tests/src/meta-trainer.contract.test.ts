import { fileURLToPath } from 'node:url';
import { runResumeContract } from '@tensorloop/testkit';
import { describe, expect, test } from 'vitest';

const scenario = fileURLToPath(new URL('../dist/scenarios/meta-trainer.js', import.meta.url));

interface Decision {
  eval?: number;
  stageEnd?: number;
  epochs?: number[];
  stop?: string | null;
  summary?: { averageAccuracy: number; forgetting: number };
}

describe('resume contract: @tensorloop/meta-trainer', () => {
  test('interrupted in the frozen stage (epoch end): same weights, history, time, stage ends and accuracy matrix', async () => {
    const report = await runResumeContract({ scenario, interruption: { afterEpoch: 4 } });
    expect(report.problems).toEqual([]);
    const decisions = report.decisions as Decision[];
    // Early stopping ended stage 0 after 3 of its 4 epochs; stages 1 and 2 ran in full.
    expect(decisions.filter((d) => d.stageEnd !== undefined).map((d) => d.epochs)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
    ]);
    expect(decisions.find((d) => d.stageEnd === 0)!.stop).toMatch(/^no improvement in val_loss/);
    expect(decisions.filter((d) => d.eval !== undefined).map((d) => d.eval)).toEqual([-1, 0, 1, 2]);
    expect(report.straight.time).toMatchObject({ stage: 2, stageEpoch: 3, epoch: 9 });
    // Naive finetuning, class-incremental: the last task is learnt, the earlier ones forgotten.
    const summary = decisions.at(-1)!.summary!;
    expect(summary.forgetting).toBeGreaterThan(0.3);
  });

  test('interrupted mid-epoch in the last stage (its own tfjs Adam)', async () => {
    const report = await runResumeContract({ scenario, interruption: { atStep: 46 } });
    expect(report.problems).toEqual([]);
  });
});
