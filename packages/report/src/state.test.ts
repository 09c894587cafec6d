import { TensorloopError } from '@tensorloop/core';
import { afterAll, describe, expect, test } from 'vitest';
import { report } from './index.js';
import { digitTrainer, mnistTensors, tmpDir } from './test-helpers.js';

describe('the report checkpoint state: parseState checks every field before anything is applied', () => {
  const rep = report({ dir: tmpDir(), write: 'manual' });
  const trainer = digitTrainer([rep]);
  const data = mnistTensors(6);
  afterAll(() => {
    data.x.dispose();
    data.y.dispose();
  });

  const codeOf = (fn: () => unknown): { code: string; message: string } => {
    try {
      fn();
    } catch (error) {
      if (error instanceof TensorloopError) return { code: error.code, message: error.message };
      return { code: 'not a TensorloopError', message: String(error) };
    }
    return { code: 'no error', message: '' };
  };

  test('an unused report has no start date; a trained one round-trips through JSON, parseState and loadState', async () => {
    expect(report({ dir: tmpDir() }).state!()).toMatchObject({ created: null, fits: [], epochs: [] });
    await trainer.fit(data, {
      epochs: 2,
      batchSize: 32,
    });
    rep.recordAccuracyMatrix({
      tasks: ['a', 'b'],
      matrix: [
        [0.9, null],
        [0.8, 0.95],
      ],
    });
    rep.recordLrFinder({
      curve: [
        { lr: 1e-4, loss: 2.3 },
        { lr: 1e-3, loss: 2.1 },
      ],
    });
    const saved = JSON.parse(JSON.stringify(rep.state!()));
    expect(typeof saved.created).toBe('string');
    const parsed = rep.parseState!(saved, undefined);
    expect(parsed).toEqual(saved);
    const fresh = report({ dir: tmpDir(), write: 'manual' });
    fresh.loadState!(parsed, undefined, {});
    expect(fresh.state!()).toEqual(saved);
  });

  test.each([
    ['the wrong version', (s: Record<string, unknown>) => ({ ...s, version: 2 }), /state\.version must be 1/],
    ['an unknown field', (s: Record<string, unknown>) => ({ ...s, extra: 1 }), /state\.extra must be absent/],
    [
      'a garbage accuracy matrix',
      (s: Record<string, unknown>) => ({ ...s, accuracyMatrix: { garbage: true } }),
      /state\.accuracyMatrix\.tasks must be an array of strings/,
    ],
    [
      'a garbage LR finder record',
      (s: Record<string, unknown>) => ({ ...s, lrFinder: { curve: 'no' } }),
      /state\.lrFinder\.curve must be an array/,
    ],
    [
      'a log that is not a number',
      (s: Record<string, unknown>) => ({
        ...s,
        epochs: [{ ...(s.epochs as object[])[0], logs: { loss: 'x' } }],
      }),
      /state\.epochs\[0\]\.logs must be an object of numbers/,
    ],
    [
      'a negative step',
      (s: Record<string, unknown>) => ({ ...s, stepOffset: -1 }),
      /state\.stepOffset must be an integer ≥ 0/,
    ],
    [
      'an event of an unknown kind',
      (s: Record<string, unknown>) => ({
        ...s,
        events: [{ kind: 'boom', epoch: 0, batch: 0, step: 0, label: '', message: '', source: '' }],
      }),
      /state\.events\[0\]\.kind must be one of/,
    ],
    ['not an object', () => 'garbage', /state must be an object/],
  ])('%s is TL_CHECKPOINT_INVALID naming the field', (_, corrupt, message) => {
    const saved = JSON.parse(JSON.stringify(rep.state!())) as Record<string, unknown>;
    const failure = codeOf(() => rep.parseState!(corrupt(saved), undefined));
    expect(failure.code).toBe('TL_CHECKPOINT_INVALID');
    expect(failure.message).toMatch(message);
    expect(failure.message).toMatch(/\[@tensorloop\/report\]/);
  });
});
