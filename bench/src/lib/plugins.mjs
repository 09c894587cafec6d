// Plugins for the loop benchmarks: no-op plugins, and the standard set of first-party plugins.
//
// The standard set uses the real @tensorloop/early-stopping, oneCycle from @tensorloop/lr-schedules,
// core's checkpoint(), and the real @tensorloop/progress (drawing its bar into a terminal that
// discards what it gets) and @tensorloop/report (recording; the page is written on demand, a
// once-per-run cost measured by progress-report.mjs).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkpoint, definePlugin } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import { oneCycle } from '@tensorloop/lr-schedules';
import { progress } from '@tensorloop/progress';
import { report } from '@tensorloop/report';

/** A terminal that swallows what is written: the bar's whole drawing path runs, nothing is shown. */
export function nullTerminal() {
  let bytes = 0;
  return {
    isTTY: true,
    columns: 120,
    write(text) {
      bytes += text.length;
      return true;
    },
    get bytes() {
      return bytes;
    },
  };
}

/** `count` plugins whose onBatchStart, onBatchEnd and onEpochEnd do nothing. */
export function noopPlugins(count) {
  return Array.from({ length: count }, (_, i) =>
    definePlugin({
      name: `bench-noop-${i}`,
      onBatchStart() {},
      onBatchEnd() {},
      onEpochEnd() {},
    }),
  );
}

/**
 * The "standard set" of issue 8: early stopping (restore best weights; it never triggers here, as a
 * stop would change how much work a repetition does), one-cycle lr, a checkpoint of the best epoch
 * (model, optimizer and trainer state, crash-safe), progress (its bar, to a null terminal) and the
 * report (recording every epoch, hyperparameter and message; `write: 'manual'`).
 * Call `dispose()` to remove the checkpoint folder.
 */
export function standardSet() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tl-bench-ckpt-'));
  return {
    plugins: [
      earlyStopping({ monitor: 'loss', patience: 1_000_000, restoreBestWeights: true, verbose: false }),
      oneCycle({ maxLr: 1e-3 }),
      checkpoint({ dir, monitor: 'loss', keepBest: 1, keepLast: false }),
      progress({ stream: nullTerminal() }),
      report({ write: 'manual' }),
    ],
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Records tf.memory().numTensors after the given optimizer steps (read in onBatchEnd). */
export function tensorCountProbe(steps) {
  const counts = {};
  return {
    counts,
    plugin: definePlugin({
      name: 'bench-tensor-count',
      onBatchEnd(ctx) {
        if (steps.includes(ctx.time.step)) counts[ctx.time.step] = tf.memory().numTensors;
      },
    }),
  };
}
