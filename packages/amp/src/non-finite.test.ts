/**
 * amp and core's `onNonFinite` together: amp's overflow skips are amp's business (the default
 * `'stop'` must not end a fit on the overflows dynamic loss scaling expects), while a loss that is
 * NaN before any scaling is still reported, and `'skip'` gates on top of amp's gate.
 */
import * as tf from '@tensorflow/tfjs';
import { definePlugin, type LossFn, type Plugin, Trainer } from '@tensorloop/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { amp } from './index.js';
import { mnistMlp, mnistTensors, overflowAt } from './test-helpers.js';

let data: { x: tf.Tensor2D; y: tf.Tensor2D }; // 60 digits: 6 batches of 10
beforeAll(async () => {
  await tf.setBackend('cpu');
  data = mnistTensors(6);
});
afterAll(() => tf.dispose([data.x, data.y]));

const crossentropy: LossFn = (t, p) => tf.metrics.categoricalCrossentropy(t, p);
/** Cross-entropy, NaN at global micro-batch `at` (the model's own loss, before amp scales it). */
const nanLossAt =
  (at: number): LossFn =>
  (t, p, ctx) => {
    const loss = crossentropy(t, p, ctx);
    return ctx.time.batch === at ? tf.mul(loss, Number.NaN) : loss;
  };

function fit(
  plugins: Plugin[],
  options: { stepGate: 'host' | 'device'; onNonFinite?: 'stop' | 'skip'; loss?: LossFn },
) {
  const trainer = new Trainer({
    model: mnistMlp(1, 8),
    loss: options.loss ?? crossentropy,
    optimizer: tf.train.adam(1e-3),
    plugins,
    stepGate: options.stepGate,
    ...(options.onNonFinite ? { onNonFinite: options.onNonFinite } : {}),
    log: 'silent',
  });
  return trainer.fit(data, { epochs: 3, batchSize: 10, checkData: false }).then((r) => ({ r, trainer }));
}

describe.each(['host', 'device'] as const)('amp with onNonFinite (%s gate)', (stepGate) => {
  test("amp's overflow skips do not stop the fit under the default 'stop'", async () => {
    const { r, trainer } = await fit([amp(), overflowAt([1, 4, 9])], { stepGate });
    expect(r.stopReason).toBeUndefined();
    expect(r.history).toHaveLength(3);
    expect(trainer.time.step).toBe(18 - 3); // amp skipped its three overflows
    expect(r.history.map((h) => h.logs.skipped_steps)).toEqual([2, 1, 0]); // per epoch
  });

  test("an initial scale that overflows at once: amp backs off, 'stop' stays out of it", async () => {
    const { r } = await fit([amp({ initialScale: 2 ** 127 }), overflowAt([])], { stepGate });
    expect(r.stopReason).toBeUndefined();
    expect(r.history.every((h) => Number.isFinite(h.logs.loss))).toBe(true);
  });

  test('a NaN loss is still reported with amp on: the stop names the loss and the step', async () => {
    const { r } = await fit([amp()], { stepGate, loss: nanLossAt(8) });
    expect(r.stopReason?.by).toBe('trainer');
    expect(r.stopReason?.message).toMatch(
      /^the loss was NaN or infinite at epoch 1, step \d+, batch 2 of the epoch$/,
    );
  });

  test("'skip' composes: amp's overflows and the NaN-loss step are all skipped, the weights stay finite", async () => {
    const stepped: boolean[] = [];
    const record = definePlugin({ name: 'record', onBatchEnd: (_c, e) => void stepped.push(e.stepped) });
    const { r, trainer } = await fit([amp(), overflowAt([2]), record], {
      stepGate,
      onNonFinite: 'skip',
      loss: nanLossAt(8),
    });
    expect(r.stopReason).toBeUndefined();
    expect(trainer.time.step).toBe(18 - 2);
    expect(
      trainer.model.getWeights().every((w) => (w.dataSync() as Float32Array).every(Number.isFinite)),
    ).toBe(true);
    if (stepGate === 'host') expect(stepped[2]).toBe(false);
    if (stepGate === 'host') expect(stepped[8]).toBe(false);
  });
});
