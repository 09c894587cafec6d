import { fileURLToPath } from 'node:url';
import { runResumeContract } from '@tensorloop/testkit';
import { describe, expect, test } from 'vitest';

const scenario = fileURLToPath(new URL('../dist/scenarios/loggers.js', import.meta.url));

describe('resume contract: @tensorloop/loggers (TensorBoard, CSV, JSON lines)', () => {
  for (const interruption of [{ afterEpoch: 2 }, { atStep: 30 }]) {
    test(`interrupted at ${JSON.stringify(interruption)}: training unchanged, and the same CSV and JSON lines as one run`, async () => {
      const report = await runResumeContract({ scenario, interruption });
      expect(report.problems).toEqual([]);
      const [files] = report.decisions as { csv: string; jsonl: string }[];
      expect(files!.csv.trimEnd().split('\n')).toHaveLength(5); // header + 4 epochs, none twice
      expect(
        files!.jsonl
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l).epoch),
      ).toEqual([0, 1, 2, 3]);
    });
  }
});
