// Where this package's tests find their fixture plugins: compiled by `tsup --config tsup.fixtures.ts`
// (the test script) into .fixtures/, so the resume check's child processes can import them.
export const BROKEN = new URL('../.fixtures/broken.js', import.meta.url);
export const WELL_BEHAVED = new URL('../.fixtures/well-behaved.js', import.meta.url);
