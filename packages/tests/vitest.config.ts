import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 180_000,
    pool: 'forks',
    reporters: ['default', ['json', { outputFile: '../../.test-results/tests.json' }]],
  },
});
