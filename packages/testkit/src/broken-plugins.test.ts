// The kit must be able to fail: each deliberately broken plugin fails with the expected message.
import { describe, expect, test } from 'vitest';
import { checkPlugin } from './check-plugin.js';
import { BROKEN } from './fixtures.test-util.js';
import type { CheckName } from './report.js';

const only = (...names: CheckName[]) =>
  Object.fromEntries(
    (
      [
        'leaks',
        'resume',
        'stop',
        'skipBatch',
        'error',
        'refit',
        'state',
        'parseState',
        'hparams',
        'timing',
      ] as const
    ).map((n) => [n, names.includes(n)]),
  );

describe('broken plugins fail the kit with the expected messages', () => {
  test('a plugin that keeps a tensor per step: leaks on cpu and wasm, and per fit', async () => {
    const report = await checkPlugin({ module: BROKEN, export: 'leaky' }, { checks: only('leaks', 'refit') });
    expect(report.ok).toBe(false);
    expect(report.check('leaks')?.problems).toEqual([
      expect.stringMatching(
        /^on cpu tf\.memory\(\)\.numTensors grew from \d+ to \d+ between the ends of epochs 1 and 2 \(4 tensors, 1 per step\) with broken-leaky active/,
      ),
      expect.stringMatching(/^on wasm tf\.memory\(\)\.numTensors grew .* \(4 tensors, 1 per step\)/),
    ]);
    expect(report.check('refit')?.problems[0]).toMatch(
      /^after each fit\(\) call more tensors stay alive \(\d+, \d+, \d+ after fits 1, 2, 3/,
    );
  });

  test('a plugin whose loadState forgets a field: its state does not round-trip', async () => {
    const report = await checkPlugin(
      { module: BROKEN, export: 'forgetsBest' },
      { checks: only('state', 'parseState') },
    );
    expect(report.check('parseState')?.status).toBe('pass');
    expect(report.problems).toEqual([
      expect.stringMatching(
        /^state: state does not round-trip: saved, read by parseState and loadState into a fresh instance, its state\(\) differs \(state\.best: null vs [\d.]+, fresh vs saved\)/,
      ),
    ]);
  });

  test('a plugin that keeps its count in memory only: resumed in a fresh process, it stops at another epoch', async () => {
    const report = await checkPlugin(
      { module: BROKEN, export: 'forgetsCount' },
      { checks: only('resume'), setup: { epochs: 5 }, resume: { interruptions: [{ afterEpoch: 2 }] } },
    );
    expect(report.check('resume')?.status).toBe('fail');
    const text = report.problems.join('\n');
    expect(text).toContain(
      'resume: interrupted after 2 epochs: history has 5 epochs after resume, 3 in the uninterrupted run',
    );
    expect(text).toMatch(
      /resume: interrupted after 2 epochs: weights differ by up to [\d.e-]+ \(tolerance 0\.000001\)/,
    );
    expect(text).toContain('plugin decisions differ');
  });

  test('a plugin that writes a hyperparameter it did not declare', async () => {
    const report = await checkPlugin(
      { module: BROKEN, export: 'undeclaredWriter' },
      { checks: only('hparams') },
    );
    expect(report.problems).toEqual([
      "hparams: it wrote 'beta1' in onBatchStart (epoch 0, step 2) without declaring it; core refuses the write (TL_PLUGIN_INVALID) and the fit fails. Declare it: hparams: [{ name: 'beta1', mode: 'set' }] (or 'multiply' for a factor).",
    ]);
  });

  test("a plugin that swallows another plugin's stop: acts on the cut-short epoch and skips its cleanup", async () => {
    const report = await checkPlugin({ module: BROKEN, export: 'swallowsStop' }, { checks: only('stop') });
    expect(report.check('stop')?.problems).toEqual([
      expect.stringMatching(
        /^the model's weights changed by up to [\d.e-]+ between another plugin's stop at epoch 1, batch 1 and the end of that epoch/,
      ),
      "it wrote 'lr' in onEpochEnd after @tensorloop/testkit:stopper had stopped the fit: a stopped fit is over; check ctx.stopReason or event.partial before acting",
      '1 more tensor is alive after a fit another plugin stopped than after a completed fit: its cleanup does not run when the fit is stopped. onFitEnd runs however the fit ends; free there.',
    ]);
  });
});
