// @tensorloop/testkit's conformance checks for every plugin of this package, and the resume contract
// of one-cycle with reduce-on-plateau on real MNIST (moved here from packages/tests).
import { checkPlugin, type PluginReport } from '@tensorloop/testkit';
import { describe, expect, test } from 'vitest';

// The built package, as a user's process imports it: the resume check imports it in fresh processes.
const dist = new URL('../dist/index.js', import.meta.url);
const factories = new URL('./testkit-factories.fixture.mjs', import.meta.url);

// Child processes on a loaded machine: more time than this package's default 60 s per test.
describe('@tensorloop/lr-schedules plugins pass the testkit', { timeout: 240_000 }, () => {
  test('schedule(): a warmup into a cosine of lr, per step', async () => {
    const report = await checkPlugin({ module: factories, export: 'warmupCosine' });
    expect(report.problems).toEqual([]);
    expect(report.check('hparams')?.summary).toMatch(/^declares lr \(set\); wrote lr/);
  });

  test('schedule(): beta1 per epoch', async () => {
    // Epoch-level decisions: the epoch-end interruption is the one that matters.
    const report = await checkPlugin(
      { module: factories, export: 'beta1ByEpoch' },
      { backends: ['cpu'], resume: { interruptions: [{ afterEpoch: 1 }] } },
    );
    expect(report.problems).toEqual([]);
  });

  test('oneCycle(): lr and beta1 per step; its momentum and alpha declarations are reported as unused here', async () => {
    const report = await checkPlugin({ module: dist, export: 'oneCycle', options: { maxLr: 0.05 } });
    expect(report.problems).toEqual([]);
    expect(report.check('hparams')?.notes).toEqual([
      expect.stringMatching(/^it declares momentum \(set\), which this trainer does not have/),
      expect.stringMatching(/^it declares alpha \(set\), which this trainer does not have/),
    ]);
  });

  test('reduceOnPlateau(): a multiply writer that reduces when val_loss stalls', async () => {
    const report = await checkPlugin(
      {
        module: dist,
        export: 'reduceOnPlateau',
        options: { monitor: 'val_loss', patience: 0, factor: 0.5, threshold: 0.1 },
      },
      { backends: ['cpu'] },
    );
    expect(report.problems).toEqual([]);
  });

  test('lrFinder(): the range test as a plugin', async () => {
    const report = await checkPlugin(
      { module: dist, export: 'lrFinder', options: { start: 1e-5, end: 1, steps: 30 } },
      // Per-step decisions: a mid-epoch interruption.
      { backends: ['cpu'], resume: { interruptions: [{ atStep: 6 }] } },
    );
    expect(report.problems).toEqual([]);
    expect(report.check('parseState')?.summary).toMatch(/^parseState refused/);
  });
});

describe(
  'resume contract on real MNIST: one-cycle (lr and beta1 per step) with reduce-on-plateau multiplying the lr',
  { timeout: 240_000 },
  () => {
    let report: PluginReport;
    type Step = { at: 'step'; step: number; hparams: Record<string, number> };

    test('interrupted after epoch 2 and mid-epoch at step 23: same lr/beta1 at every step, same reductions, same weights', async () => {
      report = await checkPlugin(
        { module: dist, export: 'oneCycle', options: { maxLr: 0.05, pctStart: 0.3 } },
        {
          with: [
            {
              module: dist,
              export: 'reduceOnPlateau',
              options: { monitor: 'val_loss', patience: 0, factor: 0.5, threshold: 0.05 },
            },
          ],
          setup: {
            task: 'mnist',
            samples: 400,
            validationSamples: 100,
            epochs: 5,
            batchSize: 40,
            optimizer: { type: 'adam', lr: 1e-3 },
            seed: 13,
            modelSeed: 9,
          },
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
          resume: { interruptions: [{ afterEpoch: 2 }, { atStep: 23 }] },
        },
      );
      expect(report.problems).toEqual([]);
      for (const outcome of report.resume) {
        expect(outcome.maxWeightDiff).toBeLessThanOrEqual(1e-6);
        const steps = outcome.decisions.filter((d) => (d as Step).at === 'step') as Step[];
        // 5 epochs × 10 steps, each recorded once across the two processes.
        expect(steps.map((d) => d.step)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        expect(Math.max(...steps.map((d) => d.hparams['lr(default)']!))).toBeLessThanOrEqual(0.05 + 1e-12);
        expect(new Set(steps.map((d) => d.hparams['beta1(default)'])).size).toBeGreaterThan(10);
        // The plateau fired at least once, so the resumed run had a factor to carry over.
        const end = outcome.decisions.at(-1) as { states: Record<string, { reductions: unknown[] }> };
        expect(end.states['@tensorloop/lr-schedules:plateau']!.reductions.length).toBeGreaterThan(0);
      }
    });
  },
);
