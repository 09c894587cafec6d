import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '@tensorloop/backend-wasm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LossFn } from '../losses.js';
import { definePlugin, type Plugin } from '../plugin.js';
import { classificationData, tinyClassifier } from '../test-helpers.js';
import { Trainer } from '../trainer.js';
import { NON_FINITE_FOLD_KERNEL, type NonFiniteOption } from './non-finite.js';

/**
 * With @tensorloop/backend-wasm the watch runs one kernel per step on wasm; without it (cpu, or the
 * kernel unregistered) it runs tf ops. The same fits must learn the same things on all three.
 */

beforeAll(async () => {
  await initWasmBackend();
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

const crossentropy: LossFn = (t, p) => tf.metrics.categoricalCrossentropy(t, p);

/** Cross-entropy, NaN at the listed global batches. */
const nanLossAt =
  (...at: number[]): LossFn =>
  (t, p, ctx) => {
    const loss = crossentropy(t, p, ctx);
    return at.includes(ctx.time.batch) ? tf.mul(loss, Number.NaN) : loss;
  };

/** Adds `value` to the gradient of the `index`-th weight at global batch `at` (the loss stays finite). */
const badGradientAt = (index: number, at: number, value: number): Plugin =>
  definePlugin({
    name: `bad-gradient-${at}`,
    transformGradients(ctx, grads) {
      if (ctx.time.batch !== at) return grads;
      return new Map([...grads].map(([n, g], i) => [n, i === index ? tf.add(g, value) : g]));
    },
  });

/** A plugin step gate (as AMP's) that rejects the listed global batches. */
const gateOffAt = (...at: number[]): Plugin =>
  definePlugin({
    name: 'gate',
    transformStepGate: (ctx, gate) => tf.logicalAnd(gate, tf.scalar(!at.includes(ctx.time.batch), 'bool')),
  });

interface Scenario {
  name: string;
  onNonFinite?: NonFiniteOption;
  loss?: LossFn;
  plugins?: () => Plugin[];
  expected: RegExp;
}

const SCENARIOS: Scenario[] = [
  { name: 'NaN loss, stop', loss: nanLossAt(10), expected: /^stop: the loss was NaN.*step 10,/ },
  {
    name: '+Inf gradient, throw',
    onNonFinite: 'throw',
    plugins: () => [badGradientAt(2, 5, Number.POSITIVE_INFINITY)],
    expected:
      /^throw: TL_NON_FINITE: \[TL_NON_FINITE\] the gradient of weight2 was NaN or infinite at epoch 0, step 5,/,
  },
  {
    name: 'the first bad step wins (-Inf gradient at 3, NaN loss at 5), skip',
    onNonFinite: 'skip',
    loss: nanLossAt(5),
    plugins: () => [badGradientAt(1, 3, Number.NEGATIVE_INFINITY)],
    expected: /^steps 14; warn: skipped 2 optimizer step\(s\).*step 3,.*\(the gradient of weight1\)/,
  },
  {
    name: 'a gated-off gradient is not reported, a gated-off loss is',
    plugins: () => [badGradientAt(0, 2, Number.NaN), gateOffAt(2, 6)],
    loss: nanLossAt(6),
    expected: /^stop: the loss was NaN.*step 5, batch 6 of the epoch/,
  },
];

/**
 * How one fit ended, as text: the stop reason, the error, or the warnings and steps; weights by
 * index (`weight2`: layer names differ from model to model).
 */
async function run(scenario: Scenario): Promise<string> {
  const { x, y } = classificationData(64);
  const warnings: string[] = [];
  const trainer = new Trainer({
    model: tinyClassifier(),
    loss: scenario.loss ?? crossentropy,
    optimizer: tf.train.sgd(0.1),
    plugins: scenario.plugins?.() ?? [],
    log: (e) => {
      if (e.level === 'warn') warnings.push(e.message);
    },
    seed: 3,
    ...(scenario.onNonFinite ? { onNonFinite: scenario.onNonFinite } : {}),
  });
  const names = trainer.trainableWeights.map((w) => w.name);
  const byIndex = (text: string) =>
    text.replace(/dense_Dense\d+\/(kernel|bias)/g, (name) => `weight${names.indexOf(name)}`);
  const before = tf.memory().numTensors;
  try {
    const result = await trainer.fit({ x, y }, { epochs: 2, batchSize: 8, shuffle: false });
    if (result.stopReason) return byIndex(`stop: ${result.stopReason.message}`);
    return byIndex(`steps ${trainer.time.step}; ${warnings.map((w) => `warn: ${w}`).join('; ')}`);
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    return byIndex(`throw: ${code}: ${message}`);
  } finally {
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
    trainer.model.dispose();
  }
}

/** Runs `fn` on wasm, counting the calls of the fold kernel (or with it unregistered). */
async function onWasm<T>(kernel: boolean, fn: () => Promise<T>): Promise<{ value: T; calls: number }> {
  await tf.setBackend('wasm');
  const original = tf.getKernel(NON_FINITE_FOLD_KERNEL, 'wasm')!;
  let calls = 0;
  tf.unregisterKernel(NON_FINITE_FOLD_KERNEL, 'wasm');
  if (kernel) {
    tf.registerKernel({
      ...original,
      kernelFunc: (args) => {
        calls++;
        return original.kernelFunc(args);
      },
    });
  }
  try {
    return { value: await fn(), calls };
  } finally {
    if (kernel) tf.unregisterKernel(NON_FINITE_FOLD_KERNEL, 'wasm');
    tf.registerKernel(original);
  }
}

describe('onNonFinite on wasm with @tensorloop/backend-wasm', () => {
  test('the fold kernel is registered for wasm', () => {
    expect(tf.getKernel(NON_FINITE_FOLD_KERNEL, 'wasm')).toBeDefined();
  });

  for (const scenario of SCENARIOS) {
    test(`${scenario.name}: the kernel finds what the tf ops find (wasm and cpu)`, async () => {
      await tf.setBackend('cpu');
      const cpu = await run(scenario);
      const ops = await onWasm(false, () => run(scenario));
      const fused = await onWasm(true, () => run(scenario));
      expect(cpu).toMatch(scenario.expected);
      expect(ops.value).toBe(cpu);
      expect(fused.value).toBe(cpu);
      // One call per optimizer step observed (at least up to the bad one).
      expect(fused.calls).toBeGreaterThan(5);
    });
  }
});

describe('checkData on wasm scans the data with the fold kernel', () => {
  /** The fit's verdict on data with `value` written at flat index `at` of x (or nothing). */
  async function verdict(value?: number, at = 0): Promise<string> {
    const { x, y } = classificationData(64);
    const values = x.dataSync().slice();
    if (value !== undefined) values[at < 0 ? values.length + at : at] = value;
    const data = { x: tf.tensor(values, x.shape), y };
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: 'sgd',
      log: 'silent',
    });
    try {
      await trainer.fit(data, { epochs: 1, batchSize: 32 });
      return 'trained';
    } catch (error) {
      return (error as { code?: string }).code ?? String(error);
    } finally {
      tf.dispose([x, y, data.x]);
      trainer.model.dispose();
    }
  }

  test('finite data trains; NaN, +Inf, -Inf at the first or last value are refused, as with tf ops', async () => {
    const cases: [number | undefined, number][] = [
      [undefined, 0],
      [Number.NaN, 0],
      [Number.POSITIVE_INFINITY, -1],
      [Number.NEGATIVE_INFINITY, 17],
      [3.4e38, 5], // large but finite
    ];
    const expected = ['trained', 'TL_DATA_NOT_FINITE', 'TL_DATA_NOT_FINITE', 'TL_DATA_NOT_FINITE', 'trained'];
    const fused: string[] = [];
    const ops: string[] = [];
    let calls = 0;
    for (const [value, at] of cases) {
      const run = await onWasm(true, () => verdict(value, at));
      fused.push(run.value);
      calls += run.calls;
      ops.push((await onWasm(false, () => verdict(value, at))).value);
    }
    expect(fused).toEqual(expected);
    expect(ops).toEqual(expected);
    expect(calls).toBeGreaterThanOrEqual(cases.length * 2); // x and y of every fit, at least
  });
});
