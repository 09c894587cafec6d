import { describe, expect, test } from 'vitest';
import * as core from './index.js';
import { checkpoint, isTensorloopError } from './index.js';

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe('unknown option keys', () => {
  test('checkpoint() refuses an unknown key with TL_OPTION_INVALID naming the closest valid key', () => {
    const error = thrown(() => checkpoint({ dir: 'ckpt', keep_best: 2 } as never));
    expect(isTensorloopError(error, 'TL_OPTION_INVALID')).toBe(true);
    expect((error as Error).message).toContain(
      'checkpoint(): unknown option "keep_best"; did you mean "keepBest"?',
    );
    expect((error as Error).message).toContain(
      'dir, everyEpochs, everySteps, monitor, mode, keepBest, keepLast, name',
    );
    const typo = thrown(() => checkpoint({ dir: 'ckpt', everyEpoch: 2 } as never));
    expect((typo as Error).message).toContain('did you mean "everyEpochs"?');
  });

  test('checkOptionKeys: every unknown key is named with its closest valid key', () => {
    const valid = ['maxLr', 'pctStart', 'threePhase', 'anneal'];
    expect(() => core.checkOptionKeys('oneCycle()', { maxLr: 1, pctStart: 0.3 }, valid)).not.toThrow();
    const one = thrown(() => core.checkOptionKeys('oneCycle()', { maxLr: 1, three_phase: true }, valid));
    expect((one as Error).message).toBe(
      '[TL_OPTION_INVALID] oneCycle(): unknown option "three_phase"; did you mean "threePhase"? Valid options: maxLr, pctStart, threePhase, anneal.',
    );
    const two = thrown(() =>
      core.checkOptionKeys('oneCycle()', { max_lr: 1, anneal_strategy: 'cos' }, valid),
    );
    expect((two as Error).message).toContain(
      'unknown options "max_lr" (did you mean "maxLr"?), "anneal_strategy" (did you mean "anneal"?)',
    );
    expect((two as core.TensorloopError).plugin).toBeUndefined();
    const withPlugin = thrown(() => core.checkOptionKeys('x()', { a: 1 }, ['b'], { plugin: 'p' }));
    expect((withPlugin as core.TensorloopError).plugin).toBe('p');
  });

  test('undefined passes (the defaults); null and other non-objects are refused naming the factory', () => {
    expect(() => core.checkOptionKeys('f()', undefined, ['a'])).not.toThrow();
    for (const bad of [null, 1, 'a', [], () => 1]) {
      expect(() => core.checkOptionKeys('f()', bad, ['a'])).toThrow(
        /\[TL_OPTION_INVALID\] f\(\): options must be an object of named options \(valid: a\)/,
      );
    }
  });

  test('closestKey: edit distance, ignoring case, underscores and dashes first', () => {
    expect(core.closestKey('restore_best_weights', ['monitor', 'restoreBestWeights', 'patience'])).toBe(
      'restoreBestWeights',
    );
    expect(core.closestKey('patiance', ['monitor', 'restoreBestWeights', 'patience'])).toBe('patience');
    expect(core.closestKey('MINLR', ['minLr', 'eps'])).toBe('minLr');
    expect(core.closestKey('x', [])).toBeUndefined();
  });
});
