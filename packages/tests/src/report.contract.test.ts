import { fileURLToPath } from 'node:url';
import { runResumeContract } from '@tensorloop/testkit';
import { describe, expect, test } from 'vitest';

const scenario = fileURLToPath(new URL('../dist/scenarios/report.js', import.meta.url));

type Summary = {
  epochs: { epoch: number }[];
  hparams: { name: string; points: unknown[] }[];
  events: [string, number, number, string][];
};

describe('resume contract: @tensorloop/report', () => {
  for (const interruption of [{ afterEpoch: 3 }, { atStep: 23 }]) {
    test(`interrupted at ${JSON.stringify(interruption)}: the resumed run ends with the report of an uninterrupted one`, async () => {
      const result = await runResumeContract({ scenario, interruption });
      expect(result.problems).toEqual([]);
      const [summary] = result.decisions as Summary[];
      expect(result.decisions).toHaveLength(1);
      expect(summary!.epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3, 4]);
      // the phase announced before the interruption survived it, at the start of epoch 2
      expect(summary!.events.filter((e) => e[0] === 'phase')).toEqual([
        ['phase', 2, 20, 'phase 1: all layers'],
      ]);
      expect(summary!.hparams.find((h) => h.name === 'lr')!.points.length).toBeGreaterThan(40);
    });
  }
});
