// The plugin's tests, as its author writes them: the testkit's conformance checks (under Vitest), and
// behaviour tests on the kit's tiny deterministic runs.
import * as tf from '@tensorflow/tfjs';
import { definePlugin, type Plugin, Trainer } from '@tensorloop/core';
import { checkPlugin, runWithPlugins } from '@tensorloop/testkit';
import { describe, expect, test } from 'vitest';
import { ema, NAME } from './ema.js';

/** Host copies of every weight, by name. */
const weightsOf = (model: tf.LayersModel) =>
  Object.fromEntries(model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));

function maxDiff(a: Record<string, number[]>, b: Record<string, number[]>): number {
  let m = 0;
  for (const [name, values] of Object.entries(a)) {
    values.forEach((v, i) => {
      m = Math.max(m, Math.abs(v - b[name]![i]!));
    });
  }
  return m;
}

/** Records the model's weights at the fit's start and after every optimizer step (after the EMA's update). */
function weightRecorder() {
  const seen: { initial?: Record<string, number[]>; steps: Record<string, number[]>[] } = { steps: [] };
  const plugin = definePlugin({
    name: 'test:weights',
    onFitStart: (ctx) => {
      seen.initial ??= weightsOf(ctx.model);
    },
    afterOptimizerStep: (ctx) => void seen.steps.push(weightsOf(ctx.model)),
  });
  return { plugin, seen };
}

describe(`${NAME} passes the testkit`, () => {
  test('every check: no leaks, resume with its shadow weights in the checkpoint, stops, skips, errors, refits', async () => {
    const report = await checkPlugin({
      // The compiled module: the resume check imports it in fresh processes.
      module: new URL('../dist/ema.js', import.meta.url),
      export: 'ema',
      options: { decay: 0.9 },
    });
    expect(report.problems).toEqual([]);
    expect(report.check('state')?.summary).toMatch(/4 state tensors/);
    // It swaps the average in at the end, also after another plugin's stop: reported, not a failure.
    expect(report.check('stop')?.notes).toEqual([
      expect.stringMatching(/^onFitEnd put other weights into the model/),
    ]);
  });
});

describe('the average', () => {
  test('equals shadow ← d·shadow + (1 − d)·w after every step, and is in the model when the fit ends', async () => {
    const { plugin: recorder, seen } = weightRecorder();
    const run = await runWithPlugins([ema({ decay: 0.8, warmup: false, validate: false }), recorder], {
      epochs: 2,
    });
    let expected = seen.initial!;
    for (const w of seen.steps) {
      expected = Object.fromEntries(
        Object.entries(expected).map(([name, s]) => [name, s.map((v, i) => 0.8 * v + 0.2 * w[name]![i]!)]),
      );
    }
    expect(seen.steps).toHaveLength(8);
    expect(maxDiff(weightsOf(run.trainer.model), expected)).toBeLessThan(1e-6);
    expect(maxDiff(weightsOf(run.trainer.model), seen.steps.at(-1)!)).toBeGreaterThan(1e-4);
    run.dispose();
  });

  test('a step a gate skipped on the device (event.applied false) leaves the average as it was', async () => {
    await tf.setBackend('cpu');
    const { plugin: recorder, seen } = weightRecorder();
    // Odd batches are skipped on the device: the weights stay, and so must the average.
    const gate = definePlugin({
      name: 'test:gate',
      transformStepGate: (ctx, g) => tf.logicalAnd(g, tf.scalar(ctx.time.batch % 2 === 0)),
    });
    const model = tf.sequential({
      layers: [
        tf.layers.dense({
          units: 2,
          inputShape: [3],
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        }),
      ],
    });
    const data = {
      x: tf.randomNormal([16, 3], 0, 1, 'float32', 1),
      y: tf.randomNormal([16, 2], 0, 1, 'float32', 2),
    };
    const trainer = new Trainer({
      model,
      loss: 'meanSquaredError',
      optimizer: tf.train.sgd(0.1),
      plugins: [gate, ema({ decay: 0.8, warmup: false, validate: false }), recorder],
      stepGate: 'device',
      log: 'silent',
    });
    await trainer.fit(data, { epochs: 1, batchSize: 4, shuffle: false });
    const average = (gated: boolean) => {
      let avg = seen.initial!;
      seen.steps.forEach((w, i) => {
        if (gated && i % 2 === 1) return;
        avg = Object.fromEntries(
          Object.entries(avg).map(([name, s]) => [name, s.map((v, j) => 0.8 * v + 0.2 * w[name]![j]!)]),
        );
      });
      return avg;
    };
    expect(seen.steps).toHaveLength(4);
    expect(maxDiff(weightsOf(model), average(true))).toBeLessThan(1e-6);
    expect(maxDiff(average(true), average(false))).toBeGreaterThan(1e-4); // the gate made a difference
    tf.dispose([data.x, data.y]);
    model.dispose();
  });

  test('validation sees the average; training goes on from the raw weights, exactly as without the plugin', async () => {
    const withEma = await runWithPlugins([ema({ decay: 0.7, swapAtEnd: false })], { epochs: 3 });
    const without = await runWithPlugins([], { epochs: 3 });
    const a = withEma.trainer.history;
    const b = without.trainer.history;
    // The training weights are put back after every validation: the same training losses and weights.
    expect(a.map((h) => h.logs.loss)).toEqual(b.map((h) => h.logs.loss));
    expect(maxDiff(weightsOf(withEma.trainer.model), weightsOf(without.trainer.model))).toBe(0);
    // Validation was run with other (the averaged) weights ...
    expect(a.at(-1)!.logs.val_loss).not.toBe(b.at(-1)!.logs.val_loss);
    // ... exactly those copyTo() writes into the model.
    const plugin = withEma.trainer.plugins.find((p) => p.name === NAME) as Plugin<typeof NAME>;
    plugin.api!.copyTo(withEma.trainer.model);
    const evaluated = await withEma.trainer.evaluate(withEma.validationData!, { batchSize: 16 });
    expect(evaluated.loss).toBeCloseTo(a.at(-1)!.logs.val_loss!, 6);
    withEma.dispose();
    without.dispose();
  });

  test('a decay outside (0, 1) is refused at creation', () => {
    expect(() => ema({ decay: 1 })).toThrow(
      /\[TL_OPTION_INVALID\] tfjs-loop-plugin-ema: decay must be in \(0, 1\); got 1\./,
    );
  });
});
