// A reporter for `node --test` that writes the counts in the shape of Vitest's JSON report, so that
// scripts/test-summary.mjs adds tests run by Node's test runner to the total. Use it next to a
// human-readable one:
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//     --test-reporter=<this file> --test-reporter-destination=<.test-results/name.json> <files>
export default async function* nodeTestJson(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.data.skip || event.data.todo) skipped += 1;
    else if (event.type === 'test:pass') passed += 1;
    else failed += 1;
  }
  yield `${JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped, numTodoTests: 0 })}\n`;
}
