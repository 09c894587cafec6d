// Property tests (issue 20): every schedule object and plugin option of this package, set to junk, is
// accepted or refused with a coded TensorloopError naming the option — and an accepted schedule gives
// finite values (not a NaN learning rate found hours later).
import {
  acceptsOrRefusesClearly,
  checkOptionProperties,
  isCodedError,
  junk,
  PROPERTY_RUNS,
  unprintable,
} from '@tensorloop/test-fixtures';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { lrFinder } from './lr-finder.js';
import { oneCycle } from './one-cycle.js';
import { reduceOnPlateau } from './plateau.js';
import { schedule } from './schedule-plugin.js';
import {
  cosine,
  cosineWarmRestarts,
  cyclic,
  exponential,
  linear,
  multiStep,
  polynomial,
  type Schedule,
  step,
  timeBasedDecay,
  valueAt,
  warmup,
} from './schedules.js';

/** An accepted schedule must give finite values over its span, or it was not valid. */
const finiteOver = (make: (o: never) => Schedule) => (options: Record<string, unknown>) => {
  const s = make(options as never);
  for (const k of [0, 1, 5, 10]) {
    // valueAt refuses a non-finite value with a coded error naming the schedule: that is fine too.
    const v = (() => {
      try {
        return valueAt(s, k, 10);
      } catch (error) {
        if (isCodedError(error)) return 0;
        throw error;
      }
    })();
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`accepted ${JSON.stringify(options)} but its value at ${k}/10 is ${v}`);
    }
  }
  return s;
};

const SCHEDULES: [string, (o: never) => Schedule, Record<string, unknown>][] = [
  ['linear', linear, { from: 1, to: 0 }],
  ['cosine', cosine, { from: 1e-3, to: 1e-5 }],
  ['exponential', exponential, { from: 1, gamma: 0.9 }],
  ['polynomial', polynomial, { from: 1, to: 0, power: 2 }],
  ['step', step, { from: 1, every: 3 }],
  ['multiStep', multiStep, { from: 1, milestones: [2, 5] }],
  ['timeBasedDecay', timeBasedDecay, { from: 1, decay: 0.5 }],
  ['cosineWarmRestarts', cosineWarmRestarts, { from: 1, t0: 3 }],
  ['cyclic', cyclic, { base: 1e-4, max: 1e-2, stepSizeUp: 2 }],
];

describe('schedule objects', () => {
  for (const [name, make, base] of SCHEDULES) {
    test(`${name}(): junk options are accepted (with finite values) or refused naming the option`, () => {
      checkOptionProperties(finiteOver(make), base, { numRuns: 60 });
    });
  }

  test('warmup(): junk lengths and start factors', () => {
    fc.assert(
      fc.property(fc.constantFrom('steps', 'fraction'), junk, junk, (key, length, startFactor) => {
        acceptsOrRefusesClearly(
          () =>
            finiteOver((o: { l: unknown; f: unknown }) =>
              warmup(cosine({ from: 1, to: 0 }), o.l as never, { startFactor: o.f } as never),
            )({ l: { [key]: length }, f: startFactor }),
          ['warmup', key, 'startFactor'],
        );
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });
});

describe('plugin options', () => {
  test('schedule()', () =>
    checkOptionProperties((o) => schedule(o as never), { fn: cosine({ from: 1, to: 0 }) }));
  test('oneCycle()', () => checkOptionProperties((o) => oneCycle(o as never), { maxLr: 3e-3 }));
  test('reduceOnPlateau()', () => checkOptionProperties((o) => reduceOnPlateau(o as never), { patience: 2 }));
  test('lrFinder()', () => checkOptionProperties((o) => lrFinder(o as never), {}));
});

describe('plugin state (parseState): junk and damaged saved state are refused with a code', () => {
  const plugins = [
    ['schedule', schedule({ fn: cosine({ from: 1, to: 0 }) })],
    ['oneCycle', oneCycle({ maxLr: 3e-3 })],
    ['reduceOnPlateau', reduceOnPlateau({ patience: 2 })],
    ['lrFinder', lrFinder({})],
  ] as const;
  for (const [name, plugin] of plugins) {
    test(name, () => {
      const valid = plugin.state?.() as Record<string, unknown> | undefined;
      const keys = valid ? Object.keys(valid) : [];
      fc.assert(
        fc.property(junk, fc.constantFrom('', ...keys), (value, key) => {
          const saved = key === '' ? value : { ...valid, [key]: value };
          acceptsOrRefusesClearly(() => plugin.parseState?.(saved, '0.0.0'));
        }),
        { numRuns: PROPERTY_RUNS },
      );
    });
  }
});

// Objects String() throws on: these options used to fail with "TypeError: Cannot convert object to
// primitive value" (while building the message, or comparing the value) instead of the coded error.
describe('options no String() can print', () => {
  test.each(unprintable)('%s as an option: the coded error, naming it', (_, value) => {
    const cases: [string, string, () => unknown][] = [
      ['factor', 'TL_SCHEDULE_INVALID', () => reduceOnPlateau({ factor: value as never })],
      ['counting', 'TL_SCHEDULE_INVALID', () => reduceOnPlateau({ counting: value as never })],
      ['mode', 'TL_SCHEDULE_INVALID', () => schedule({ fn: 0.1, mode: value as never })],
      ['pctStart', 'TL_SCHEDULE_INVALID', () => oneCycle({ maxLr: 0.1, pctStart: value as never })],
      ['start', 'TL_OPTION_INVALID', () => lrFinder({ start: value as never })],
    ];
    for (const [key, code, run] of cases) {
      const error = acceptsOrRefusesClearly(run, [key]);
      expect(error?.code).toBe(code);
      expect(error?.message).toMatch(/got (start )?(a prototype-less|an) object/);
    }
  });
});
