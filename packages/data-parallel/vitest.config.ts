import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    typecheck: { enabled: true, include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    testTimeout: 180_000,
    pool: 'forks',
    reporters: ['default', ['json', { outputFile: '../../.test-results/data-parallel.json' }]],
  },
});
