// Property tests (issue 20): report() options and saved state set to junk are accepted or refused with
// a coded TensorloopError naming the option — never a TypeError.
import {
  acceptsOrRefusesClearly,
  checkOptionProperties,
  junk,
  PROPERTY_RUNS,
} from '@tensorloop/test-fixtures';
import fc from 'fast-check';
import { describe, test } from 'vitest';
import { report } from './report.js';

describe('report()', () => {
  test('options', () => checkOptionProperties((o) => report(o as never), {}));

  test('saved state', () => {
    const plugin = report({});
    const valid = (plugin.state?.() ?? {}) as Record<string, unknown>;
    fc.assert(
      fc.property(junk, fc.constantFrom('', ...Object.keys(valid)), (value, key) => {
        acceptsOrRefusesClearly(() =>
          plugin.parseState?.(key === '' ? value : { ...valid, [key]: value }, '0.0.0'),
        );
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });
});
