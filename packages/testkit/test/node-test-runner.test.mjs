// checkPlugin under Node's own test runner (`node --test`), as a plugin author without Vitest would
// use it: the package imported by its name, assertWellBehaved for a readable failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertWellBehaved, checkPlugin } from '@tensorloop/testkit';

const fixtures = new URL('../.fixtures/', import.meta.url);

test('a well-behaved plugin passes the kit under node --test', async () => {
  const report = await checkPlugin(
    { module: new URL('well-behaved.js', fixtures), export: 'warmupWithMean' },
    { backends: ['cpu'], resume: { interruptions: [{ atStep: 5 }] } },
  );
  assertWellBehaved(report);
  assert.equal(report.check('resume')?.status, 'pass');
});

test('a leaking plugin fails it, and assertWellBehaved says why', async () => {
  const report = await checkPlugin(
    { module: new URL('broken.js', fixtures), export: 'leaky' },
    {
      backends: ['cpu'],
      checks: { resume: false, stop: false, skipBatch: false, error: false, refit: false },
    },
  );
  assert.equal(report.ok, false);
  assert.throws(
    () => assertWellBehaved(report),
    /broken-leaky is not well-behaved:[\s\S]*✗ leaks[\s\S]*1 per step/,
  );
});
