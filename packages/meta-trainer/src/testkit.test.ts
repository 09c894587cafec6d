// @tensorloop/testkit's conformance checks (leaks, resume in fresh processes, other plugins' stops,
// skips and errors, repeated fits, state and parseState, hyperparameter writes, timing) for the
// meta-trainer's stage plugin, freezeExcept, in a fit announced as a stage.
import { checkPlugin } from '@tensorloop/testkit';
import { describe, expect, test } from 'vitest';

const dist = new URL('../dist/index.js', import.meta.url);
const announcer = { module: new URL('./kit-stage.fixture.mjs', import.meta.url), export: 'stageAnnouncer' };

describe('@tensorloop/meta-trainer freezeExcept passes the testkit', { timeout: 300_000 }, () => {
  test("freezeExcept('tk_out') in an announced stage: every check passes, and it froze the hidden layer", async () => {
    const result = await checkPlugin(
      { module: dist, export: 'freezeExcept', options: 'tk_out' },
      { with: [announcer] },
    );
    expect(result.problems).toEqual([]);
    // It acted: during the stage only tk_out trained, so its state named the frozen hidden weights.
    const decisions = result.resume[0]!.straight.decisions as {
      at: string;
      states?: Record<string, { frozen: string[] }>;
    }[];
    const inStage = decisions.find((d) => d.at === 'epoch')?.states?.[
      '@tensorloop/meta-trainer:freeze-except'
    ];
    expect(inStage?.frozen.sort()).toEqual(['tk_hidden/bias', 'tk_hidden/kernel']);
  });
});
