// Fixtures for this package's tests (not part of the public surface).
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { adam, definePlugin, type LogEntry, type Plugin, Trainer } from '@tensorloop/core';
import { mnistTensors } from '@tensorloop/test-fixtures';
import type { ReportHistory } from './types.js';

export { mnistTensors };

// The events later packages will declare (finetune scheduler, meta-trainer, amp); in these tests,
// test plugins emit them as those packages will.
declare module '@tensorloop/core' {
  interface HookEvents {
    'finetune:transition': {
      readonly phase: number;
      readonly name?: string;
      readonly unfrozen?: readonly string[];
    };
    'meta:stageStart': { readonly stage: number; readonly name?: string };
    'meta:stageEnd': {
      readonly stage: number;
      readonly name?: string;
      readonly accuracies?: Record<string, number>;
    };
    'amp:stepsSkipped': { readonly count: number };
  }
}

export const tmpDir = (prefix = 'tl-report-') => mkdtempSync(path.join(os.tmpdir(), prefix));

/** A small dense classifier on real MNIST digits, core adam with a `head` param group. */
export function digitTrainer(plugins: Plugin[], entries?: LogEntry[]): Trainer {
  let seed = 21;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });
  return new Trainer({
    model: tf.sequential({
      layers: [
        tf.layers.dense({
          name: 'body',
          inputShape: [784],
          units: 16,
          activation: 'relu',
          kernelInitializer: init(),
        }),
        tf.layers.dense({ name: 'head', units: 10, activation: 'softmax', kernelInitializer: init() }),
      ],
    }),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: adam({ lr: 1e-3, groups: [{ name: 'head', match: /^head\// }] }),
    plugins,
    seed: 5,
    log: entries ? (e) => void entries.push(e) : 'silent',
  });
}

/** A plugin earlier in the order that writes scripted values into the epoch logs, by trainer epoch. */
export const script = (key: string, values: readonly number[]) =>
  definePlugin({
    name: 'test:script',
    logKeys: [key],
    onEpochEnd(_ctx, e) {
      const v = values[e.epoch];
      if (v !== undefined) e.logs[key] = v;
    },
  });

/** The value a recorded hyperparameter series had at each optimizer step 0 … steps−1. */
export function perStep(series: ReportHistory['hparams'][number], steps: number): number[] {
  const out: number[] = [];
  let i = 0;
  for (let s = 0; s < steps; s++) {
    while (i + 1 < series.points.length && series.points[i + 1]!.step <= s) i += 1;
    out.push(series.points[i]!.value);
  }
  return out;
}

/** Debian's Chromium (or $CHROMIUM); under CI=true a missing binary fails the browser test. */
export function chromiumPath(): { path: string | undefined; skip: boolean; why: string } {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    (p): p is string => typeof p === 'string' && p.length > 0,
  );
  const found = candidates.find((p) => existsSync(p));
  const ci = process.env.CI === 'true';
  const why = `no Chromium at ${candidates.join(' or ')} (apt-get install -y chromium, or set CHROMIUM=/path)`;
  if (!found && !ci) console.log(`browser tests skipped: ${why}`);
  return { path: found, skip: !found && !ci, why };
}
