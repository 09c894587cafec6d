// Property tests (issue 20): earlyStopping() options and its saved state, set to junk, are accepted or
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
import { earlyStopping } from './early-stopping.js';
import { parseState } from './state.js';

describe('earlyStopping()', () => {
  test('options', () =>
    checkOptionProperties((o) => earlyStopping(o as never), { monitor: 'val_loss', patience: 2 }));

  test('saved state: junk, and a valid state with one field replaced by junk', () => {
    const plugin = earlyStopping({ patience: 2 });
    const valid = plugin.state?.() as unknown as Record<string, unknown>;
    fc.assert(
      fc.property(junk, fc.constantFrom('', ...Object.keys(valid)), (value, key) => {
        acceptsOrRefusesClearly(() => parseState(key === '' ? value : { ...valid, [key]: value }, 'es'));
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });
});

// Objects String() throws on: these options used to fail with "TypeError: Cannot convert object to
// primitive value" while building their message, instead of the coded error.
describe('options no String() can print', () => {
  test.each(unprintable)('%s as patience, mode or restoreBestWeights: TL_OPTION_INVALID', (_, value) => {
    for (const key of ['patience', 'mode', 'restoreBestWeights']) {
      const error = acceptsOrRefusesClearly(() => earlyStopping({ [key]: value } as never), [key]);
      expect(error?.code).toBe('TL_OPTION_INVALID');
      expect(error?.message).toMatch(/; got (a prototype-less|an) object/);
    }
  });
});
