import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // One process, files in sequence: tfjs's engine and backends are process-global.
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '../../.test-results/backend-wasm.json' }]],
  },
});
