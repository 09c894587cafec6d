import { fileURLToPath } from 'node:url';
import { runResumeContract } from '@tensorloop/testkit';
import { describe, expect, test } from 'vitest';

const scenario = (name: string) => fileURLToPath(new URL(`../dist/scenarios/${name}.js`, import.meta.url));

describe('resume contract: N steps, checkpoint, crash, fresh process, M steps ≡ N+M steps', () => {
  test('core with tf.train.adam, shuffle, frozen layers and BatchNorm phases (epoch-end checkpoint)', async () => {
    const report = await runResumeContract({
      scenario: scenario('core-tfjs-adam'),
      interruption: { afterEpoch: 2 },
    });
    expect(report.problems).toEqual([]);
    expect(report.maxWeightDiff).toBeLessThanOrEqual(1e-6);
    expect(report.decisions).toEqual([
      { epoch: 1, phase: 'bn-frozen' },
      { epoch: 3, phase: 'all' },
    ]);
    expect(report.straight.history).toHaveLength(5);
    expect(report.straight.history[4]!.logs.val_accuracy).toBeGreaterThan(0.6);
  });

  test('core adamw with groups, lr decay, clipping and accumulation (mid-epoch checkpoint), stop decision kept', async () => {
    const report = await runResumeContract({
      scenario: scenario('core-adamw-groups'),
      interruption: { atStep: 25 },
    });
    expect(report.problems).toEqual([]);
    expect(report.resumed.stopReason).toEqual({ by: 'contract:stopper', message: 'stopped after 4 epochs' });
    expect(report.decisions.at(-1)).toEqual({ stopAt: 3 });
    expect(report.straight.history).toHaveLength(4);
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    // Issue 12 point 9: dropout randomness is part of the seeded state.
    test(`a model with Dropout(0.5) and GaussianNoise on ${backend} (mid-epoch checkpoint)`, async () => {
      const report = await runResumeContract({
        scenario: scenario('core-dropout'),
        interruption: { atStep: 17 },
        backend,
      });
      expect(report.problems).toEqual([]);
      expect(report.straight.history).toHaveLength(3);
    });
  }

  test('a stateful RNN checkpointed at an epoch end (states reset at each epoch start)', async () => {
    const report = await runResumeContract({
      scenario: scenario('core-stateful-rnn'),
      interruption: { afterEpoch: 2 },
    });
    expect(report.problems).toEqual([]);
    expect(report.straight.history).toHaveLength(4);
  });

  test('the harness catches a plugin that loses its state on resume', async () => {
    const report = await runResumeContract({
      scenario: scenario('forgetful'),
      interruption: { afterEpoch: 2 },
    });
    expect(report.problems.join('\n')).toContain('plugin decisions differ');
    expect(report.problems.join('\n')).toContain(
      'history has 5 epochs after resume, 3 in the uninterrupted run',
    );
  });
});
