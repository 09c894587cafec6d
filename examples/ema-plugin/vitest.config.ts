import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', ['json', { outputFile: '../../.test-results/example-ema-plugin.json' }]],
  },
});
