// How the plugin behaves when another plugin steers the loop: stops the fit, skips batches, or throws.
import { TensorloopError } from '@tensorloop/core';
import {
  type FitPoint,
  skipper,
  stopper,
  THROWER,
  THROWN_MESSAGE,
  thrower,
  weightChange,
} from './companions.js';
import type { Kit } from './kit-options.js';
import { describeError, type KitRunOutcome } from './kit-run.js';
import { type CheckResult, checkResult } from './report.js';
import { batchesPerEpoch, stepsPerEpoch } from './setup.js';

const moreAlive = (n: number) => (n === 1 ? '1 more tensor is alive' : `${n} more tensors are alive`);
const where = (p: FitPoint) => `epoch ${p.fitEpoch}, batch ${p.batch}`;

/** The second batch of the fit's second epoch (the first when an epoch has one batch). */
const midFit = (kit: Kit): FitPoint => ({ fitEpoch: 1, batch: Math.min(1, batchesPerEpoch(kit.setup) - 1) });

/** Tensors held after a fit of this run beyond those held after the main, completed fit. */
async function extraHeld(kit: Kit, outcome: KitRunOutcome, fit: number): Promise<number> {
  const main = await kit.main();
  const completed = main.fits[0]?.held;
  const here = outcome.fits[fit]?.held;
  return completed === undefined || here === undefined ? 0 : here - completed;
}

function nextFitProblems(kit: Kit, outcome: KitRunOutcome, after: string, problems: string[]): void {
  const next = outcome.fits[1];
  if (!next) return;
  if (next.error !== undefined) {
    problems.push(`the next fit() after ${after} failed: ${describeError(next.error)}`);
  } else if (
    next.result?.stopReason?.by === kit.subject.name &&
    next.result.time.fitStep < stepsPerEpoch(kit.setup)
  ) {
    problems.push(
      `it stopped the next fit() before its first epoch ended (${next.result.stopReason.message}): per-fit state left over from ${after}. Reset it in onFitStart (event.resumed is false for a new fit).`,
    );
  }
}

/** Another plugin returns stop() mid-epoch: nothing trains or is written after it, cleanup runs, the next fit runs. */
export async function checkStop(kit: Kit): Promise<CheckResult> {
  const start = performance.now();
  const point = midFit(kit);
  const stop = stopper(point);
  const outcome = await kit.run({ label: 'stop', extra: [stop], fits: [kit.mainEpochs, 1] });
  const problems: string[] = [];
  const notes: string[] = [];
  const name = kit.subject.name;
  const first = outcome.fits[0]!;
  if (first.error !== undefined) {
    problems.push(
      `the fit failed after another plugin's stop at ${where(point)}: ${describeError(first.error)}`,
    );
    return checkResult('stop', start, {
      problems,
      summary: 'the fit failed after another plugin stopped it',
    });
  }
  const by = first.result?.stopReason?.by;
  if (by === name) {
    return checkResult('stop', start, {
      status: 'skip',
      summary: `${name} stopped the fit itself (${first.result?.stopReason?.message}) before another plugin's stop at ${where(point)}`,
      notes: ['give it options (or a setup) under which it does not stop within 2 epochs to run this check'],
    });
  }
  if (!stop.seen.stopped) {
    problems.push(
      `the fit ended before another plugin's stop at ${where(point)} (stop reason: ${by ?? 'none'})`,
    );
  }
  const { atStop, atEpochEnd, atFitEnd } = stop.seen;
  if (atStop && atEpochEnd) {
    const moved = weightChange(atStop, atEpochEnd);
    if (moved > 0) {
      problems.push(
        `the model's weights changed by up to ${moved.toPrecision(3)} between another plugin's stop at ${where(point)} and the end of that epoch: after a stop nothing may train or edit the weights (onFitEnd is the place for a final swap).`,
      );
    }
  }
  if (atEpochEnd && atFitEnd) {
    const swapped = weightChange(atEpochEnd, atFitEnd);
    if (swapped > 0) {
      const text = `onFitEnd put other weights into the model (by up to ${swapped.toPrecision(3)}) after another plugin's stop`;
      if (kit.options.weightsAtFitEnd === 'forbid') problems.push(`${text} (weightsAtFitEnd: 'forbid')`);
      else notes.push(`${text}: expected for restore-best or averaged weights`);
    }
  }
  const late = outcome.instrument.writes.filter((w) => w.afterStopBy !== undefined && w.hook !== 'onFitEnd');
  for (const w of late.slice(0, 3)) {
    problems.push(
      `it wrote '${w.name}'${w.group ? ` (group ${w.group})` : ''} in ${w.hook} after ${w.afterStopBy} had stopped the fit: a stopped fit is over; check ctx.stopReason or event.partial before acting`,
    );
  }
  const extra = await extraHeld(kit, outcome, 0);
  if (extra > 0) {
    problems.push(
      `${moreAlive(extra)} after a fit another plugin stopped than after a completed fit: its cleanup does not run when the fit is stopped. onFitEnd runs however the fit ends; free there.`,
    );
  }
  nextFitProblems(kit, outcome, 'a stopped one', problems);
  return checkResult('stop', start, {
    problems,
    notes,
    summary:
      problems.length === 0
        ? `another plugin stopped the fit at ${where(point)}: no weights or hyperparameters changed after it, cleanup ran, the next fit ran`
        : `misbehaves when another plugin stops the fit at ${where(point)}`,
  });
}

/** Another plugin skips batches: the fit goes on, nothing leaks. */
export async function checkSkipBatch(kit: Kit): Promise<CheckResult> {
  const start = performance.now();
  const batches = batchesPerEpoch(kit.setup);
  const skipped = [1, 3].filter((b) => b < batches);
  const skip = skipper(1, skipped.length > 0 ? skipped : [0]);
  const outcome = await kit.run({ label: 'skipBatch', extra: [skip], fits: [kit.mainEpochs] });
  const problems: string[] = [];
  const fit = outcome.fits[0]!;
  if (fit.error !== undefined) {
    problems.push(
      `the fit failed when another plugin skipped batches (event.skipped is true, event.loss undefined, no step): ${describeError(fit.error)}`,
    );
  } else {
    const counts = outcome.epochCounts;
    const n = counts.length;
    if (n >= 3 && counts[n - 1]! > counts[n - 2]!) {
      problems.push(
        `numTensors grew from ${counts[n - 2]} to ${counts[n - 1]} between the last two epochs when batches were skipped`,
      );
    }
    const extra = await extraHeld(kit, outcome, 0);
    if (extra > 0)
      problems.push(`${moreAlive(extra)} after a fit with skipped batches than after one without`);
  }
  return checkResult('skipBatch', start, {
    problems,
    summary:
      problems.length === 0
        ? `another plugin skipped ${skip.skipped.length} batches of epoch 1: the fit ran on, nothing leaked`
        : 'misbehaves when another plugin skips batches',
  });
}

/** Another plugin throws: the original error reaches the caller, the error path's hooks do not fail, cleanup runs. */
export async function checkError(kit: Kit): Promise<CheckResult> {
  const start = performance.now();
  const point = midFit(kit);
  const outcome = await kit.run({ label: 'error', extra: [thrower(point)], fits: [kit.mainEpochs, 1] });
  const problems: string[] = [];
  const name = kit.subject.name;
  const first = outcome.fits[0]!;
  const error = first.error;
  if (error === undefined) {
    problems.push(
      `the fit did not fail although another plugin threw in onBatchEnd at ${where(point)}: was the error swallowed?`,
    );
  } else if (
    !(error instanceof TensorloopError) ||
    error.plugin !== THROWER ||
    !error.message.includes(THROWN_MESSAGE)
  ) {
    problems.push(
      `the fit failed with another error than the other plugin's (the original must reach the caller; do not throw from onException or onFitEnd): ${describeError(error)}`,
    );
  }
  const failures = outcome.logs.filter(
    (e) => e.level === 'warn' && e.source === 'trainer' && e.message.startsWith(`${name}.`),
  );
  for (const f of failures) problems.push(`on the error path ${f.message}`);
  const extra = await extraHeld(kit, outcome, 0);
  if (extra > 0) {
    problems.push(
      `${moreAlive(extra)} after a fit that failed than after a completed fit: free them in onFitEnd, which runs on the error path too (event.error is set).`,
    );
  }
  nextFitProblems(kit, outcome, 'a failed one', problems);
  return checkResult('error', start, {
    problems,
    summary:
      problems.length === 0
        ? `another plugin threw at ${where(point)}: its error reached the caller, ${name}'s error-path hooks ran cleanly, nothing leaked, the next fit ran`
        : `misbehaves when another plugin throws at ${where(point)}`,
  });
}
