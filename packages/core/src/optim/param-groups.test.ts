import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isTensorloopError } from '../errors.js';
import { adam, adamw } from './adam.js';
import { BIAS_AND_NORM } from './param-groups.js';
import { sgd } from './sgd.js';
import type { NamedVariable } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

let owned: NamedVariable[] = [];
afterEach(() => {
  for (const { variable } of owned) variable.dispose();
  owned = [];
});

function vars(spec: Record<string, number[]>): NamedVariable[] {
  const list = Object.entries(spec).map(([name, values]) => ({
    name,
    variable: tf.variable(tf.tensor(values)),
  }));
  owned.push(...list);
  return list;
}

function grads(spec: Record<string, number[]>): Map<string, tf.Tensor> {
  return new Map(Object.entries(spec).map(([name, values]) => [name, tf.tensor(values)]));
}

const read = (v: NamedVariable): number[] => Array.from(v.variable.dataSync());

describe('param groups', () => {
  it('discriminative lr: two groups under plain SGD move by exactly their lr ratio', () => {
    const list = vars({ 'body/kernel': [0, 0, 0], 'head/kernel': [0, 0, 0] });
    const opt = sgd({ lr: 0.1, groups: [{ name: 'head', match: /^head\//, lr: 0.01 }] });
    opt.bind(list);
    tf.tidy(() => opt.applyGradients(grads({ 'body/kernel': [1, -2, 3], 'head/kernel': [1, -2, 3] })));
    const body = read(list[0]!);
    const head = read(list[1]!);
    for (let i = 0; i < 3; i++) expect(body[i]! / head[i]!).toBeCloseTo(10, 5);
    expect(body).toEqual([-0.1, 0.2, -0.3].map(Math.fround));
    expect(opt.groupOf('head/kernel').name).toBe('head');
    expect(opt.groupOf('body/kernel').name).toBe('default');
    opt.dispose();
  });

  it('first matching group wins; the rest form the default group, listed last', () => {
    const list = vars({ 'a/kernel': [1], 'a/bias': [1], 'b/kernel': [1], 'c/kernel': [1] });
    const opt = adamw({
      lr: 1e-3,
      groups: [
        { match: /bias/, weightDecay: 0 },
        { name: 'a', match: /^a\//, lr: 1e-4 },
        { name: 'exact', match: 'b/kernel' },
        { name: 'fn', match: (n) => n.startsWith('zzz') },
      ],
    });
    opt.bind(list);
    expect(opt.groups.map((g) => [g.name, g.index, g.variables])).toEqual([
      ['group0', 0, ['a/bias']],
      ['a', 1, ['a/kernel']],
      ['exact', 2, ['b/kernel']],
      ['fn', 3, []],
      ['default', 4, ['c/kernel']],
    ]);
    expect(opt.groups[1]!.hparams).toEqual({
      lr: 1e-4,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.01,
    });
    expect(opt.hyperparameterNames).toEqual(['lr', 'beta1', 'beta2', 'eps', 'weightDecay']);
    opt.dispose();
  });

  it('a global regex matches statelessly (no lastIndex carry-over)', () => {
    const list = vars({ 'x/bias': [1], 'y/bias': [1], 'z/bias': [1] });
    const opt = sgd({ lr: 0.1, groups: [{ name: 'b', match: /bias/g }] });
    opt.bind(list);
    expect(opt.groups[0]!.variables).toEqual(['x/bias', 'y/bias', 'z/bias']);
    opt.dispose();
  });

  it("noDecay: 'bias-and-norm' leaves biases and norm gamma/beta untouched by decay when gradients are zero", () => {
    const list = vars({
      'dense_Dense1/kernel': [1, -2],
      'dense_Dense1/bias': [0.5, -0.5],
      'batch_normalization_BatchNormalization1/gamma': [1.5, 0.5],
      'batch_normalization_BatchNormalization1/beta': [0.3, -0.3],
      'layer_normalization_LayerNormalization1/gamma': [2, 2],
    });
    const opt = adamw({ lr: 0.1, weightDecay: 0.5, noDecay: 'bias-and-norm' });
    opt.bind(list);
    expect(opt.groups[0]!.name).toBe('no-decay');
    expect(opt.groups[0]!.hparams.weightDecay).toBe(0);
    expect(opt.groups[0]!.variables).toHaveLength(4);
    const before = list.map(read);
    for (let k = 0; k < 3; k++) {
      tf.tidy(() => opt.applyGradients(new Map(list.map((v) => [v.name, tf.zerosLike(v.variable)]))));
    }
    expect(read(list[0]!)[0]).toBeCloseTo(0.95 ** 3, 6);
    for (let i = 1; i < list.length; i++) expect(read(list[i]!)).toEqual(before[i]);
    opt.dispose();
  });

  it('BIAS_AND_NORM matches tfjs bias and normalization weight names only', () => {
    for (const name of [
      'dense_Dense1/bias',
      'conv2d_Conv2D1/bias',
      'lstm/recurrent_bias',
      'bn/gamma',
      'ln/beta',
    ]) {
      expect(BIAS_AND_NORM.test(name)).toBe(true);
    }
    for (const name of [
      'dense_Dense1/kernel',
      'embedding/embeddings',
      'betas/kernel',
      'lstm/recurrent_kernel',
    ]) {
      expect(BIAS_AND_NORM.test(name)).toBe(false);
    }
  });

  it('hyperparameters are read from group.hparams on every step (no rebuild)', () => {
    const list = vars({ w: [0] });
    const opt = sgd({ lr: 0.1 });
    opt.bind(list);
    const group = opt.groupOf('w');
    tf.tidy(() => opt.applyGradients(grads({ w: [1] })));
    group.hparams.lr = 0;
    tf.tidy(() => opt.applyGradients(grads({ w: [1] })));
    expect(read(list[0]!)[0]).toBeCloseTo(-0.1, 7);
    group.hparams.lr = 0.5;
    tf.tidy(() => opt.applyGradients(grads({ w: [1] })));
    expect(read(list[0]!)[0]).toBeCloseTo(-0.6, 6);
    group.hparams.momentum = 0.9; // momentum turned on mid-run: buffer starts from this gradient
    tf.tidy(() => opt.applyGradients(grads({ w: [1] })));
    tf.tidy(() => opt.applyGradients(grads({ w: [1] })));
    expect(read(list[0]!)[0]).toBeCloseTo(-0.6 - 0.5 - 0.5 * 1.9, 6);
    opt.dispose();
  });

  it('addGroup while training moves variables out of the default group only and keeps their slots', () => {
    const list = vars({ 'body/kernel': [1, 1], 'head/kernel': [1, 1], 'other/kernel': [1, 1] });
    const reference = vars({ 'body/kernel': [1, 1] });
    const opt = adam({ lr: 0.1, groups: [{ name: 'other', match: /^other/ }] });
    const ref = adam({ lr: 0.1 });
    opt.bind(list);
    ref.bind(reference);
    const g = { 'body/kernel': [0.5, -1], 'head/kernel': [0.5, -1], 'other/kernel': [0.5, -1] };
    for (let k = 0; k < 2; k++) {
      tf.tidy(() => opt.applyGradients(grads(g)));
      tf.tidy(() => ref.applyGradients(grads({ 'body/kernel': g['body/kernel'] })));
    }
    const added = opt.addGroup({ name: 'thawed', match: /kernel/, lr: 0.01 });
    expect(added.variables).toEqual(['body/kernel', 'head/kernel']);
    expect(opt.groupOf('other/kernel').name).toBe('other');
    expect(opt.groups.map((x) => x.name)).toEqual(['other', 'thawed', 'default']);
    expect(opt.groups.map((x) => x.index)).toEqual([0, 1, 2]);
    expect(opt.groups[2]!.variables).toEqual([]);
    // Step 3 with the new group's lr continues the old moments: same as the reference with lr changed.
    ref.groupOf('body/kernel').hparams.lr = 0.01;
    tf.tidy(() => opt.applyGradients(grads(g)));
    tf.tidy(() => ref.applyGradients(grads({ 'body/kernel': g['body/kernel'] })));
    expect(read(list[0]!)).toEqual(read(reference[0]!));
    expect(opt.stepOf('body/kernel')).toBe(3);
    opt.dispose();
    ref.dispose();
  });

  it('a group added before bind takes part in first-match assignment; a group matching nothing has zero variables', () => {
    const list = vars({ 'a/kernel': [1] });
    const opt = sgd({ lr: 0.1 });
    opt.addGroup({ name: 'late', match: /^a\//, lr: 0.2 });
    opt.addGroup({ name: 'empty', match: /^nothing/ });
    opt.bind(list);
    expect(opt.groupOf('a/kernel').name).toBe('late');
    expect(opt.groups.find((g) => g.name === 'empty')!.variables).toEqual([]);
    opt.dispose();
  });

  it('rejects duplicate group names, a reserved name, a bad matcher, unknown variables and rebinding', () => {
    const expectCode = (fn: () => unknown, code: 'TL_OPTION_INVALID' | 'TL_OPTIMIZER_INVALID') => {
      let caught: unknown;
      try {
        fn();
      } catch (error) {
        caught = error;
      }
      expect(isTensorloopError(caught, code), String(caught)).toBe(true);
    };
    expectCode(
      () =>
        sgd({
          lr: 1,
          groups: [
            { name: 'x', match: /a/ },
            { name: 'x', match: /b/ },
          ],
        }),
      'TL_OPTION_INVALID',
    );
    expectCode(() => sgd({ lr: 1, groups: [{ name: 'default', match: /a/ }] }), 'TL_OPTION_INVALID');
    expectCode(() => sgd({ lr: 1, groups: [{ match: 3 as unknown as RegExp }] }), 'TL_OPTION_INVALID');
    const list = vars({ w: [1] });
    const opt = sgd({ lr: 1 });
    opt.bind(list);
    opt.bind(list); // same names: no-op
    expectCode(() => opt.bind(vars({ v: [1] })), 'TL_OPTIMIZER_INVALID');
    expectCode(() => tf.tidy(() => opt.applyGradients(grads({ nope: [1] }))), 'TL_OPTIMIZER_INVALID');
    expectCode(() => opt.groupOf('nope'), 'TL_OPTIMIZER_INVALID');
    expectCode(
      () => sgd({ lr: 1 }).bind(vars({ dup: [1] }).concat(vars({ dup: [2] }))),
      'TL_OPTIMIZER_INVALID',
    );
    opt.dispose();
  });
});
