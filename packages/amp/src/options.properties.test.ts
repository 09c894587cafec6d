// Property tests (issue 20): amp() options and its saved state, set to junk, are accepted or refused
// with a coded TensorloopError naming the option — never a TypeError.
import {
  acceptsOrRefusesClearly,
  checkOptionProperties,
  junk,
  PROPERTY_RUNS,
} from '@tensorloop/test-fixtures';
import fc from 'fast-check';
import { describe, test } from 'vitest';
import { amp } from './amp.js';

describe('amp()', () => {
  test('options', () => checkOptionProperties((o) => amp(o as never), {}));

  test('saved state: junk is refused with a code', () => {
    const plugin = amp({});
    fc.assert(
      fc.property(junk, fc.constantFrom('', 'scale', 'goodSteps', 'skipped', 'format'), (value, key) => {
        acceptsOrRefusesClearly(() => plugin.parseState?.(key === '' ? value : { [key]: value }, '0.0.0'));
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });
});
