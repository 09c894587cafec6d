import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isTensorloopError } from '../errors.js';
import { adagrad } from './adagrad.js';
import { adam, adamw } from './adam.js';
import { EXAMPLE, gradMap, makeVariables } from './reference.test-util.js';
import { rmsprop } from './rmsprop.js';
import { sgd } from './sgd.js';
import type { NamedVariable, OptimizerState, TensorloopOptimizer } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

let owned: NamedVariable[] = [];
afterEach(() => {
  for (const { variable } of owned) variable.dispose();
  owned = [];
});

function exampleVariables(order?: string[]): NamedVariable[] {
  const list = makeVariables(EXAMPLE.initial, order);
  owned.push(...list);
  return list;
}

const read = (v: NamedVariable): number[] => Array.from(v.variable.dataSync());
const step = (opt: TensorloopOptimizer, grads: Record<string, number[]>) =>
  tf.tidy(() => opt.applyGradients(gradMap(grads)));

/** Every optimizer with every slot-creating option turned on. */
const everyOptimizer: [string, () => TensorloopOptimizer][] = [
  ['sgd', () => sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
  ['adam', () => adam({ lr: 0.01, amsgrad: true, weightDecay: 0.01 })],
  ['adamw', () => adamw({ lr: 0.01, amsgrad: true, noDecay: 'bias-and-norm' })],
  ['rmsprop', () => rmsprop({ momentum: 0.5, centered: true, weightDecay: 0.01 })],
  ['adagrad', () => adagrad({ lrDecay: 0.1, initialAccumulatorValue: 0.1 })],
];

describe('per-variable step counts', () => {
  it('a variable first given a gradient at step 3 gets the step-1 bias-corrected update', () => {
    const [kernel, bias] = exampleVariables();
    const opt = adam({ lr: 0.1 });
    opt.bind([kernel!, bias!]);
    const biasBefore = read(bias!);
    step(opt, { 'dense_Dense1/kernel': EXAMPLE.grads[0]!['dense_Dense1/kernel']! });
    step(opt, { 'dense_Dense1/kernel': EXAMPLE.grads[1]!['dense_Dense1/kernel']! });
    // Absent from the map (frozen): not touched, no step.
    expect(read(bias!)).toEqual(biasBefore);
    expect(opt.stepOf('dense_Dense1/bias')).toBe(0);
    step(opt, EXAMPLE.grads[2]!);
    expect(opt.stepOf('dense_Dense1/kernel')).toBe(3);
    expect(opt.stepOf('dense_Dense1/bias')).toBe(1);
    // Step 1 of Adam: m̂ = g, v̂ = g² → θ −= lr·g/(|g| + eps).
    const g = EXAMPLE.grads[2]!['dense_Dense1/bias']!;
    const expected = biasBefore.map((x, i) => x - (0.1 * g[i]!) / (Math.abs(g[i]!) + 1e-8));
    read(bias!).forEach((x, i) => {
      expect(x).toBeCloseTo(expected[i]!, 6);
    });
    opt.dispose();
  });
});

describe('state round trip by name', () => {
  for (const [label, make] of everyOptimizer) {
    it(`${label}: getState → new optimizer over a reordered list → setState → next steps identical`, () => {
      const a = exampleVariables();
      const first = make();
      first.bind(a);
      step(first, EXAMPLE.grads[0]!);
      step(first, EXAMPLE.grads[1]!);
      first.groups[0]!.hparams.lr = 0.02; // a scheduled value is part of the state
      const state = first.getState();
      // The meta is JSON: a checkpoint writes it as text.
      const meta = JSON.parse(JSON.stringify(state.meta)) as OptimizerState['meta'];

      // Another process: same weights by name, different order.
      const order = ['dense_Dense1/bias', 'dense_Dense1/kernel'];
      const b = exampleVariables(order);
      for (const v of b) v.variable.assign(a.find((x) => x.name === v.name)!.variable);
      const second = make();
      second.bind(b);
      second.setState({ meta, slots: state.slots });
      for (const t of Object.values(state.slots)) t.dispose(); // the optimizer keeps its own copies

      expect(second.groups[0]!.hparams.lr).toBe(0.02);
      expect(second.stepOf('dense_Dense1/kernel')).toBe(2);
      step(first, EXAMPLE.grads[2]!);
      step(second, EXAMPLE.grads[2]!);
      step(first, EXAMPLE.grads[0]!);
      step(second, EXAMPLE.grads[0]!);
      for (const v of a) expect(read(b.find((x) => x.name === v.name)!)).toEqual(read(v));
      first.dispose();
      second.dispose();
    });
  }

  it('slot keys are <variable>/<slot> and the clones are owned by the caller', () => {
    const list = exampleVariables();
    const opt = adam({ amsgrad: true });
    opt.bind(list);
    step(opt, EXAMPLE.grads[0]!);
    const before = tf.memory().numTensors;
    const state = opt.getState();
    expect(Object.keys(state.slots).sort()).toEqual([
      'dense_Dense1/bias/exp_avg',
      'dense_Dense1/bias/exp_avg_sq',
      'dense_Dense1/bias/max_exp_avg_sq',
      'dense_Dense1/kernel/exp_avg',
      'dense_Dense1/kernel/exp_avg_sq',
      'dense_Dense1/kernel/max_exp_avg_sq',
    ]);
    expect(state.meta.steps).toEqual({ 'dense_Dense1/kernel': 1, 'dense_Dense1/bias': 1 });
    expect(state.meta.groups).toEqual([
      {
        name: 'default',
        hparams: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
        variables: ['dense_Dense1/kernel', 'dense_Dense1/bias'],
      },
    ]);
    // A snapshot: later steps do not change it.
    const m = Array.from(state.slots['dense_Dense1/bias/exp_avg']!.dataSync());
    step(opt, EXAMPLE.grads[1]!);
    expect(Array.from(state.slots['dense_Dense1/bias/exp_avg']!.dataSync())).toEqual(m);
    for (const t of Object.values(state.slots)) t.dispose();
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
  });

  it('setState recreates a group added at runtime, with its members and hyperparameters', () => {
    const a = exampleVariables();
    const first = sgd({ lr: 0.1, momentum: 0.9 });
    first.bind(a);
    step(first, EXAMPLE.grads[0]!);
    first.addGroup({ name: 'thawed', match: /bias/, lr: 0.01 });
    const state = first.getState();
    const b = exampleVariables();
    const second = sgd({ lr: 0.1, momentum: 0.9 });
    second.bind(b);
    second.setState(state);
    expect(second.groups.map((g) => [g.name, g.variables, g.hparams.lr])).toEqual([
      ['thawed', ['dense_Dense1/bias'], 0.01],
      ['default', ['dense_Dense1/kernel'], 0.1],
    ]);
    for (const t of Object.values(state.slots)) t.dispose();
    first.dispose();
    second.dispose();
  });

  it('setState disposes the slots it replaces and copies what it is given', () => {
    const list = exampleVariables();
    const opt = rmsprop({ centered: true, momentum: 0.9 });
    opt.bind(list);
    step(opt, EXAMPLE.grads[0]!);
    const state = opt.getState();
    const before = tf.memory().numTensors;
    opt.setState(state);
    opt.setState(state);
    expect(tf.memory().numTensors).toBe(before);
    for (const t of Object.values(state.slots)) t.dispose();
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before - 2 * 6); // state clones and the slots themselves
  });

  it('rejects unknown names, wrong shapes, another optimizer type and restore before bind', () => {
    const list = exampleVariables();
    const opt = adam();
    opt.bind(list);
    step(opt, EXAMPLE.grads[0]!);
    const state = opt.getState();
    const expectInvalid = (fn: () => void, pattern: RegExp) => {
      let caught: unknown;
      try {
        fn();
      } catch (error) {
        caught = error;
      }
      expect(isTensorloopError(caught, 'TL_CHECKPOINT_INVALID'), String(caught)).toBe(true);
      expect(String(caught)).toMatch(pattern);
    };
    const renamed: OptimizerState = {
      meta: { ...state.meta, steps: { ...state.meta.steps, 'dense_Dense9/kernel': 1 } },
      slots: state.slots,
    };
    expectInvalid(() => opt.setState(renamed), /dense_Dense9\/kernel.*not bound/);
    const wrongSlot = {
      meta: state.meta,
      slots: { ...state.slots, 'dense_Dense1/bias/momentum': tf.zeros([3]) },
    };
    expectInvalid(() => opt.setState(wrongSlot), /momentum/);
    wrongSlot.slots['dense_Dense1/bias/momentum'].dispose();
    const wrongShape = {
      meta: state.meta,
      slots: { ...state.slots, 'dense_Dense1/bias/exp_avg': tf.zeros([4]) },
    };
    expectInvalid(() => opt.setState(wrongShape), /shape/);
    wrongShape.slots['dense_Dense1/bias/exp_avg'].dispose();
    const other = adamw();
    other.bind(exampleVariables());
    expectInvalid(() => other.setState(state), /adam/);
    expectInvalid(() => adam().setState(state), /bind/);
    // A rejected state changed nothing.
    expect(opt.stepOf('dense_Dense1/kernel')).toBe(1);
    for (const t of Object.values(state.slots)) t.dispose();
    opt.dispose();
    other.dispose();
  });
});

describe('tensor ownership', () => {
  for (const [label, make] of everyOptimizer) {
    it(`${label}: numTensors unchanged across steps after the first; dispose() frees the slots`, () => {
      const list = exampleVariables();
      const opt = make();
      opt.bind(list);
      const start = tf.memory().numTensors;
      step(opt, EXAMPLE.grads[0]!);
      const afterFirst = tf.memory().numTensors;
      expect(afterFirst).toBeGreaterThan(start);
      for (let k = 0; k < 5; k++) step(opt, EXAMPLE.grads[k % 3]!);
      expect(tf.memory().numTensors).toBe(afterFirst);
      opt.dispose();
      expect(tf.memory().numTensors).toBe(start);
    });
  }
});
