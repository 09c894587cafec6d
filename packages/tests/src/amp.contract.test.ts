import { fileURLToPath } from 'node:url';
import { runResumeContract } from '@tensorloop/testkit';
import { afterEach, describe, expect, test } from 'vitest';

const scenario = fileURLToPath(new URL('../dist/scenarios/amp.js', import.meta.url));

afterEach(() => {
  delete process.env.TL_CONTRACT_STEP_GATE;
});

// 400 digits in batches of 20: 20 batches per epoch; overflows injected at global batches 3, 4, 17, 31;
// the scale doubles after 5 finite steps in a row.
const EXPECTED = [
  // 1024 → 512 → 256 (batches 3, 4); × 2 at 9 and 14 (1024); batch 17 → 512. 20 − 3 steps.
  { epoch: 0, lossScale: 512, skipped: 3, step: 17 },
  // × 2 at 22 and 27 (2048); batch 31 → 1024; × 2 at 36 (2048).
  { epoch: 1, lossScale: 2048, skipped: 1, step: 36 },
  // × 2 at 41, 46, 51, 56: 32768, no overflow of its own in float16 at that scale.
  { epoch: 2, lossScale: 32768, skipped: 0, step: 56 },
];

describe('resume contract: @tensorloop/amp (dynamic scaling, injected overflows, float16 emulation)', () => {
  test('a mid-epoch checkpoint with host gating: same weights, logs (loss_scale, skipped_steps) and time', async () => {
    const report = await runResumeContract({ scenario, interruption: { atStep: 25 } });
    expect(report.problems).toEqual([]);
    expect(report.maxWeightDiff).toBeLessThanOrEqual(1e-6);
    expect(report.decisions).toEqual(EXPECTED);
  });

  test('a mid-epoch checkpoint with device gating (no read-back per step; the checkpoint settles the pending skips) on wasm', async () => {
    process.env.TL_CONTRACT_STEP_GATE = 'device';
    const report = await runResumeContract({ scenario, interruption: { atStep: 30 }, backend: 'wasm' });
    expect(report.problems).toEqual([]);
    expect(report.maxWeightDiff).toBeLessThanOrEqual(1e-6);
    expect(report.decisions).toEqual(EXPECTED);
  });
});
