import type { Plugin } from '@tensorloop/core';
import { describe, expect, test } from 'vitest';
import { checkPlugin } from './check-plugin.js';
import { maskVolatile } from './volatile-state.js';

/** Keeps the seconds each epoch took, and when it began: wall-clock state, as a logger or a report has. */
function epochTimer(): Plugin {
  let began: string | null = null;
  let seconds: number[] = [];
  let start = 0;
  return {
    name: 'tensorloop-fixture-epoch-timer',
    onFitStart() {
      began ??= new Date().toISOString();
    },
    onEpochStart() {
      start = performance.now();
    },
    onEpochEnd() {
      // Never two runs alike, even when the clock is coarse.
      seconds.push((performance.now() - start) / 1000 + Math.random() * 1e-3);
    },
    state: () => ({ began, seconds: [...seconds] }),
    parseState(saved) {
      const s = saved as { began: unknown; seconds: unknown };
      if (!(typeof s?.began === 'string' || s?.began === null) || !Array.isArray(s.seconds)) {
        throw new Error('not an epoch timer state');
      }
      return s;
    },
    loadState(saved) {
      const s = saved as { began: string | null; seconds: number[] };
      began = s.began;
      seconds = [...s.seconds];
    },
  };
}

const ONLY_RESUME = {
  checks: {
    leaks: false,
    stop: false,
    skipBatch: false,
    error: false,
    refit: false,
    timing: false,
    state: false,
    parseState: false,
    hparams: false,
  },
} as const;

describe('resume.volatileState: wall-clock fields compared by kind', () => {
  test('maskVolatile replaces the fields at the paths by their kind, * over keys and indices', () => {
    const state = {
      began: '2026-01-01',
      fits: [
        { seconds: 1.5, n: 2 },
        { seconds: null, n: 3 },
      ],
      keep: 7,
    };
    expect(maskVolatile(state, ['began', 'fits.*.seconds'])).toEqual({
      began: { volatile: 'string' },
      fits: [
        { seconds: { volatile: 'number' }, n: 2 },
        { seconds: { volatile: 'null' }, n: 3 },
      ],
      keep: 7,
    });
    expect(maskVolatile(state, ['fits.1.n'])).toEqual({
      ...state,
      fits: [state.fits[0], { seconds: null, n: { volatile: 'number' } }],
    });
  });

  test('without it a wall-clock state fails the resume check; with it the check passes', async () => {
    const strict = await checkPlugin(epochTimer, ONLY_RESUME);
    expect(strict.problems.join('\n')).toMatch(/plugin decisions differ:[\s\S]*epoch-timer\.began: "/);
    const partly = await checkPlugin(epochTimer, { ...ONLY_RESUME, resume: { volatileState: ['began'] } });
    expect(partly.problems.join('\n')).toMatch(/epoch-timer\.seconds\[0\]: /);
    const relaxed = await checkPlugin(epochTimer, {
      ...ONLY_RESUME,
      resume: { volatileState: ['began', 'seconds.*'] },
    });
    expect(relaxed.problems).toEqual([]);
  });

  test('a kind change is still a difference, and bad paths are refused', async () => {
    expect(maskVolatile({ t: 1 }, ['t'])).not.toEqual(maskVolatile({ t: null }, ['t']));
    const report = await checkPlugin(epochTimer, { ...ONLY_RESUME, resume: { volatileState: ['a..b'] } });
    expect(report.problems.join('\n')).toMatch(/TL_OPTION_INVALID[\s\S]*volatileState/);
  });
});
