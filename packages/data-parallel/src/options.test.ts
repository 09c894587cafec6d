import { isTensorloopError } from '@tensorloop/core';
import { describe, expect, test } from 'vitest';
import { dataParallel } from './index.js';

/** What `String()` throws on: the message must still be built, and the error be the coded one. */
const unprintable: readonly [string, unknown][] = [
  ['an object without a prototype', Object.create(null)],
  [
    'an object whose toString throws',
    {
      toString(): string {
        throw new Error('toString refused');
      },
    },
  ],
];

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('dataParallel() options no String() can print', () => {
  test.each(unprintable)('workers: %s gives TL_OPTION_INVALID naming it', (_, value) => {
    const error = thrownBy(() => dataParallel({ workers: value as never }));
    expect(isTensorloopError(error) && error.code).toBe('TL_OPTION_INVALID');
    expect((error as Error).message).toMatch(
      /workers must be an integer ≥ 1 .*; got an? (empty )?(prototype-less )?object/,
    );
  });

  test.each(unprintable)('timeoutMs: %s gives TL_OPTION_INVALID naming it', (_, value) => {
    const error = thrownBy(() => dataParallel({ workers: 1, timeoutMs: value as never }));
    expect(isTensorloopError(error) && error.code).toBe('TL_OPTION_INVALID');
    expect((error as Error).message).toMatch(
      /timeoutMs must be a positive number .*; got an? (empty )?(prototype-less )?object/,
    );
  });
});
