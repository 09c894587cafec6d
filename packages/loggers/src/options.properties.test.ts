// Property tests (issue 20): every logger's options and saved position, set to junk, are accepted or
// refused with a coded TensorloopError naming the option — never a TypeError.
import {
  acceptsOrRefusesClearly,
  checkOptionProperties,
  junk,
  PROPERTY_RUNS,
} from '@tensorloop/test-fixtures';
import fc from 'fast-check';
import { describe, test } from 'vitest';
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
