// Plugins for the loop benchmarks: no-op plugins, and stand-ins for the standard set.
//
// The standard set uses the real @tensorloop/early-stopping, oneCycle from @tensorloop/lr-schedules
// and core's checkpoint(). TODO(bench): @tensorloop/progress and @tensorloop/report do not exist
// yet; the stand-ins below do the work those packages are expected to do with the same hooks.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkpoint, definePlugin } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import { oneCycle } from '@tensorloop/lr-schedules';

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

/** Progress bar: redraws at most every 100 ms (tqdm's default), reading the batch loss to show it. */
function progressStandIn(sink) {
  let last = 0;
  let start = 0;
  return definePlugin({
    name: 'stand-in:progress',
    onFitStart() {
      start = performance.now();
    },
    async onBatchEnd(ctx, event) {
      const now = performance.now();
      if (now - last < 100) return undefined;
      last = now;
      const loss = event.loss ? (await event.loss.data())[0] : Number.NaN;
      const f = ctx.time.fraction;
      const eta = f > 0 ? ((now - start) * (1 - f)) / f / 1000 : 0;
      sink(`epoch ${ctx.time.epoch} batch ${event.batch} loss ${loss.toFixed(4)} eta ${eta.toFixed(1)}s`);
      return undefined;
    },
    onEpochEnd(ctx, { logs }) {
      sink(
        `epoch ${ctx.time.epoch} ${Object.entries(logs)
          .map(([k, v]) => `${k} ${v?.toFixed(4)}`)
          .join(' ')}`,
      );
    },
  });
}

/** Report: collects epoch logs and renders a markdown table at the end of the fit. */
function reportStandIn(sink) {
  const rows = [];
  return definePlugin({
    name: 'stand-in:report',
    onEpochEnd(_ctx, { epoch, logs }) {
      rows.push({ epoch, ...logs });
    },
    onFitEnd() {
      const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      sink([keys.join(' | '), ...rows.map((r) => keys.map((k) => r[k] ?? '').join(' | '))].join('\n'));
      rows.length = 0;
    },
  });
}

/**
 * The "standard set" of issue 8: early stopping (restore best weights; it never triggers here, as a
 * stop would change how much work a repetition does), one-cycle lr, a checkpoint of the best epoch
 * (model, optimizer and trainer state, crash-safe), and stand-ins for progress and report.
 * Call `dispose()` to remove the checkpoint folder.
 */
export function standardStandIns() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tl-bench-ckpt-'));
  const lines = [];
  const sink = (line) => {
    lines.push(line);
    if (lines.length > 100) lines.splice(0, lines.length - 100);
  };
  return {
    plugins: [
      earlyStopping({ monitor: 'loss', patience: 1_000_000, restoreBestWeights: true, verbose: false }),
      oneCycle({ maxLr: 1e-3 }),
      checkpoint({ dir, monitor: 'loss', keepBest: 1, keepLast: false }),
      progressStandIn(sink),
      reportStandIn(sink),
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
