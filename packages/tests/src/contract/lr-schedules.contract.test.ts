import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { runResumeContract } from './harness.js';

const scenario = fileURLToPath(new URL('../../dist/scenarios/lr-schedules.js', import.meta.url));

type Decision = { step?: number; lr?: number; beta1?: number; reduced?: { epoch: number } };

describe('resume contract: @tensorloop/lr-schedules (one-cycle + reduceOnPlateau)', () => {
  for (const interruption of [{ afterEpoch: 2 }, { atStep: 23 }]) {
    test(`interrupted at ${JSON.stringify(interruption)}: same lr/beta1 at every step, same reductions, same weights`, async () => {
      const report = await runResumeContract({ scenario, interruption });
      expect(report.problems).toEqual([]);
      expect(report.maxWeightDiff).toBeLessThanOrEqual(1e-6);
      const decisions = report.decisions as Decision[];
      const steps = decisions.filter((d) => d.step !== undefined);
      expect(steps).toHaveLength(50); // 5 epochs × 10 steps, each recorded once across the two processes
      expect(steps.map((d) => d.step)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      // the plateau fired at least once, so the resumed run had a factor to carry over
      expect(decisions.some((d) => d.reduced !== undefined)).toBe(true);
      expect(Math.max(...steps.map((d) => d.lr!))).toBeLessThanOrEqual(0.05 + 1e-12);
    });
  }
});
