// Property tests (issue 20): finetuneScheduler() options, its schedule parser (objects, arrays and
// YAML text) and its saved state, set to junk, are accepted or refused with a coded TensorloopError
// naming the input — never a TypeError.
import {
  acceptsOrRefusesClearly,
  checkOptionProperties,
  junk,
  PROPERTY_RUNS,
} from '@tensorloop/test-fixtures';
import fc from 'fast-check';
import { describe, test } from 'vitest';
import { finetuneScheduler } from './finetune-scheduler.js';
import { parseSchedule, readScheduleSource } from './schedule-parse.js';
import { parseState } from './state.js';

const SCHEDULE = {
  0: { params: ['l3/.*', 'l2/.*'], maxTransitionEpoch: 3 },
  1: { params: ['l1/bias', 'l1/kernel'], lr: 1e-6 },
  2: { params: ['l0/.*'] },
};

/** Every path into a JSON value, for picking the field to replace. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.slice(0, 3).entries()) out.push(...pathsOf(v, [...prefix, i]));
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  }
  return out;
}

function replaced(value: unknown, path: readonly (string | number)[], by: unknown): unknown {
  if (path.length === 0) return by;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >;
  copy[head!] = replaced((value as Record<string | number, unknown>)[head!], rest, by);
  return copy;
}

describe('finetuneScheduler()', () => {
  test('options', () =>
    checkOptionProperties(
      (o) => finetuneScheduler(o as never),
      { schedule: SCHEDULE, logDir: false },
      { numRuns: 100 },
    ));

  test('the schedule parser: a valid schedule with one field replaced by junk', () => {
    const paths = pathsOf(SCHEDULE);
    fc.assert(
      fc.property(fc.constantFrom(...paths), junk, (path, value) => {
        acceptsOrRefusesClearly(() => parseSchedule(replaced(SCHEDULE, path, value), 'the schedule object'));
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });

  test('the schedule parser: YAML text, random and damaged', () => {
    const yaml = "0:\n  params: ['l3/.*']\n  maxTransitionEpoch: 3\n1:\n  params: ['l0/.*']\n  lr: 1.0e-6\n";
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.nat(yaml.length), (noise, at) => {
        const text = yaml.slice(0, at) + noise + yaml.slice(at);
        acceptsOrRefusesClearly(() => {
          const { raw, source } = readScheduleSource(text.includes('\n') ? text : `${text}\n`);
          return parseSchedule(raw, source);
        });
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });

  test('saved state: junk, and a valid state with one field replaced by junk', () => {
    const plugin = finetuneScheduler({ schedule: SCHEDULE, logDir: false });
    const valid = plugin.state?.() as unknown;
    const paths = pathsOf(valid);
    fc.assert(
      fc.property(fc.constantFrom(...paths), junk, (path, value) => {
        acceptsOrRefusesClearly(() => parseState(replaced(valid, path, value)));
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });
});
