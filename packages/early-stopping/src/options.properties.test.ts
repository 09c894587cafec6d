// Property tests (issue 20): earlyStopping() options and its saved state, set to junk, are accepted or
// refused with a coded TensorloopError naming the option — never a TypeError.
import {
  acceptsOrRefusesClearly,
  checkOptionProperties,
  junk,
  PROPERTY_RUNS,
} from '@tensorloop/test-fixtures';
import fc from 'fast-check';
import { describe, test } from 'vitest';
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
