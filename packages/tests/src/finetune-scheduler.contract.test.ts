import { fileURLToPath } from 'node:url';
import { runResumeContract } from '@tensorloop/testkit';
import { describe, expect, test } from 'vitest';

const scenario = fileURLToPath(new URL('../dist/scenarios/finetune-scheduler.js', import.meta.url));

type Decision = {
  epoch?: number;
  depth?: number;
  groups?: [string, number][];
  transition?: number;
  end?: number;
};

// Checkpoints at every depth: after epoch 0 (depth 0), 1 (depth 1), 4 (depth 2, phase complete: the
// transition and its restore are still to come), 5 (depth 3, the final phase), and mid-epoch 3 (depth
// 2, inside the per-step lr schedule). 3 steps per epoch.
const points = [
  { depth: 0, interruption: { afterEpoch: 1 } },
  { depth: 1, interruption: { afterEpoch: 2 } },
  { depth: 2, interruption: { afterEpoch: 5 } },
  { depth: 2, interruption: { atStep: 11 } },
  { depth: 3, interruption: { afterEpoch: 6 } },
];

describe('resume contract: @tensorloop/finetune-scheduler, at every depth', () => {
  for (const { depth, interruption } of points) {
    test(`checkpoint at depth ${depth} (${JSON.stringify(interruption)}): same depths, groups, lrs, weights and stop`, async () => {
      const report = await runResumeContract({ scenario, interruption });
      expect(report.problems).toEqual([]);
      const decisions = report.decisions as Decision[];
      const starts = decisions.filter((d) => d.depth !== undefined);
      expect(starts.map((d) => d.depth)).toEqual([0, 1, 2, 2, 2, 3, 3]);
      // one param group per phase, the default group last
      expect(starts.map((d) => d.groups!.map(([name]) => name))).toEqual([
        ['default'],
        ['phase1', 'default'],
        ['phase1', 'phase2', 'default'],
        ['phase1', 'phase2', 'default'],
        ['phase1', 'phase2', 'default'],
        ['phase1', 'phase2', 'phase3', 'default'],
        ['phase1', 'phase2', 'phase3', 'default'],
      ]);
      expect(decisions.filter((d) => d.transition !== undefined)).toEqual([
        { transition: 1, epoch: 1, reason: 'maxTransitionEpoch', restored: 0 },
        { transition: 2, epoch: 2, reason: 'maxTransitionEpoch', restored: 1 },
        { transition: 3, epoch: 5, reason: 'earlyStopping', restored: 3 },
      ]);
      expect(decisions.at(-1)).toEqual({ end: 3, restores: 3, best: 0.6 });
      expect(report.resumed.stopReason).toEqual({
        by: '@tensorloop/finetune-scheduler',
        message: 'final phase 3: no improvement in val_probe for 1 epoch (best val_probe 0.6 at epoch 5)',
      });
    });
  }
});
