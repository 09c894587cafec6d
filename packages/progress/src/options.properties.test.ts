// Property tests (issue 20): progress() options set to junk are accepted or refused with a coded
// TensorloopError naming the option — never a TypeError.
import { checkOptionProperties } from '@tensorloop/test-fixtures';
import { describe, test } from 'vitest';
import { progress } from './index.js';

describe('progress()', () => {
  test('options', () => checkOptionProperties((o) => progress(o as never), {}));
});
