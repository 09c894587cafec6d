import { defineConfig } from 'tsup';

export default defineConfig({
  // worker.ts is the entry each worker thread runs (next to index.js in dist/).
  entry: ['src/index.ts', 'src/worker.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
