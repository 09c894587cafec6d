import * as tf from '@tensorflow/tfjs';
import { initBackend, isTensorloopError } from '@tensorloop/core';
import type { Kit } from './kit-options.js';
import { describeError, type KitRunOutcome } from './kit-run.js';
import { type CheckResult, checkResult } from './report.js';
import { stepsPerEpoch } from './setup.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What one backend's run says about tensors that outlive the steps. */
function epochGrowth(
  kit: Kit,
  outcome: KitRunOutcome,
  backend: string,
  problems: string[],
  notes: string[],
): void {
  const [fit] = outcome.fits;
  if (fit?.error !== undefined) {
    problems.push(`on ${backend} the fit failed: ${describeError(fit.error)}`);
    return;
  }
  const counts = outcome.epochCounts;
  const n = counts.length;
  if (n < 3) {
    problems.push(
      `on ${backend} only ${plural(n, 'epoch')} ran (the plugin stopped the fit?): the leak check needs 3`,
    );
    return;
  }
  const steps = stepsPerEpoch(kit.setup);
  const growth = counts[n - 1]! - counts[n - 2]!;
  if (growth > 0) {
    const perStep = growth / steps;
    problems.push(
      `on ${backend} tf.memory().numTensors grew from ${counts[n - 2]} to ${counts[n - 1]} between the ends of epochs ${n - 2} and ${n - 1} ` +
        `(${growth} tensors, ${Number.isInteger(perStep) ? perStep : perStep.toFixed(2)} per step) with ${kit.subject.name} active: ` +
        "something it creates outside the step's tf.tidy is never disposed. Dispose it (tf.dispose, or tf.tidy around the work), or keep it as state in stateTensors() and replace it, not add to it.",
    );
  } else if (counts.slice(1).some((c, i) => c > counts[i]!)) {
    notes.push(
      `on ${backend} numTensors rose during the first epochs (${counts.join(', ')}), then stayed flat`,
    );
  }
}

async function wasmAvailable(): Promise<string | undefined> {
  try {
    await initBackend('wasm', { quiet: true });
    return undefined;
  } catch (error) {
    if (isTensorloopError(error, 'TL_BACKEND_UNAVAILABLE')) return error.message;
    throw error;
  }
}

/** No tensor outlives its step: numTensors at the end of the last two epochs is the same, per backend. */
export async function checkLeaks(kit: Kit): Promise<CheckResult> {
  const start = performance.now();
  const problems: string[] = [];
  const notes: string[] = [];
  const checked: string[] = [];
  for (const backend of kit.options.backends ?? ['cpu', 'wasm']) {
    if (backend === 'cpu') {
      epochGrowth(kit, await kit.main(), 'cpu', problems, notes);
      checked.push('cpu');
      continue;
    }
    const previous = tf.getBackend();
    let outcome: KitRunOutcome;
    try {
      const missing = await wasmAvailable(); // switches to wasm when it is installed
      if (missing !== undefined) {
        notes.push(`wasm not checked: ${missing.replace(/^\[TL_BACKEND_UNAVAILABLE\] /, '')}`);
        continue;
      }
      outcome = await kit.run({ label: 'wasm', fits: [kit.mainEpochs] });
    } finally {
      if (tf.getBackend() !== previous) await tf.setBackend(previous);
    }
    epochGrowth(kit, outcome, 'wasm', problems, notes);
    checked.push('wasm');
  }
  const steps = stepsPerEpoch(kit.setup) * kit.mainEpochs;
  return checkResult('leaks', start, {
    problems,
    notes,
    summary:
      problems.length === 0
        ? `numTensors flat over ${steps} steps (${kit.mainEpochs} epochs) on ${checked.join(' and ') || 'no backend'}`
        : `tensors outlive their step on ${checked.join(' and ')}`,
  });
}

/** Repeated fit() calls: each runs, and none leaves more tensors behind than the one before. */
export async function checkRefit(kit: Kit): Promise<CheckResult> {
  const start = performance.now();
  const problems: string[] = [];
  const outcome = await kit.run({ label: 'refit', fits: [2, 2, 2] });
  outcome.fits.forEach((fit, i) => {
    if (fit.error !== undefined)
      problems.push(`fit() call ${i + 1} of 3 failed: ${describeError(fit.error)}`);
  });
  const held = outcome.fits.map((f) => f.held);
  if (problems.length === 0 && held[2]! > held[1]!) {
    problems.push(
      `after each fit() call more tensors stay alive (${held.join(', ')} after fits 1, 2, 3; data and model excluded): ` +
        'the plugin leaks per fit. Free per-fit tensors in onFitEnd (it runs however the fit ends), or reuse them in the next fit.',
    );
  }
  const notes: string[] = [];
  const epochs = outcome.run.trainer.history.length;
  if (epochs !== 6 && problems.length === 0)
    notes.push(`three fits of 2 epochs ran ${epochs} epochs: the plugin stopped some of them`);
  return checkResult('refit', start, {
    problems,
    notes,
    summary:
      problems.length === 0
        ? `three fit() calls on one trainer, time continuing: ${held[2]} tensors held after each of fits 2 and 3`
        : 'repeated fit() calls misbehave',
  });
}
