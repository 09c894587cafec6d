// Property tests (issue 20): every logger's options and saved position, set to junk, are accepted or
// refused with a coded TensorloopError naming the option — never a TypeError.
import {
  acceptsOrRefusesClearly,
  checkOptionProperties,
  junk,
  PROPERTY_RUNS,
  unprintable,
} from '@tensorloop/test-fixtures';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { csvLogger } from './csv.js';
import { jsonLines } from './json-lines.js';
import { tensorBoard } from './tensorboard.js';

const FACTORIES = [
  ['csvLogger', (o: Record<string, unknown>) => csvLogger(o as never), { path: 'logs/run.csv' }],
  ['jsonLines', (o: Record<string, unknown>) => jsonLines(o as never), { path: 'logs/run.jsonl' }],
  ['tensorBoard', (o: Record<string, unknown>) => tensorBoard(o as never), { logDir: 'logs/tb' }],
] as const;

describe('logger options and saved state', () => {
  for (const [name, factory, base] of FACTORIES) {
    test(`${name}() options`, () => checkOptionProperties(factory, base, { numRuns: 100 }));

    test(`${name}() saved state`, () => {
      const plugin = factory(base);
      fc.assert(
        fc.property(
          junk,
          fc.constantFrom('', 'file', 'rows', 'bytes', 'columns', 'sink', 'format'),
          (value, key) => {
            acceptsOrRefusesClearly(() =>
              plugin.parseState?.(key === '' ? value : { [key]: value }, '0.0.0'),
            );
          },
        ),
        { numRuns: PROPERTY_RUNS },
      );
    });
  }
});

// A `name` String() throws on: every message of the logger starts with `[name]`, so building one
// used to fail with "TypeError: Cannot convert object to primitive value" instead of the coded error.
describe('a name no String() can print', () => {
  test.each(unprintable)('%s as name: TL_OPTION_INVALID', (_, value) => {
    for (const make of [
      () => csvLogger({ path: 'run.csv', separator: '', name: value as never }),
      () => jsonLines({ path: '', name: value as never }),
      () => tensorBoard({ logDir: '', name: value as never }),
    ]) {
      const error = acceptsOrRefusesClearly(make, ['name']);
      expect(error?.code).toBe('TL_OPTION_INVALID');
      expect(error?.message).toMatch(
        /name must be the plugin's name \(a string\); got (a prototype-less|an) object/,
      );
    }
  });
});
