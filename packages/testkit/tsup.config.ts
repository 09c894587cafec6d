import { defineConfig } from 'tsup';

export default defineConfig({
  // The child entry is what checkPlugin spawns for the cross-process resume check.
  entry: ['src/index.ts', 'src/child.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
