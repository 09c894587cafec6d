import { defineConfig } from 'tsup';

export default defineConfig({
  // index: Node (cli-progress, loaded lazily); browser: console lines only, no Node modules.
  entry: ['src/index.ts', 'src/browser.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
