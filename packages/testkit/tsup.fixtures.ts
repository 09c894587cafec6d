import { defineConfig } from 'tsup';

// The plugins this package's own tests check, compiled to plain JS so that the resume check's child
// processes can import them by path (as they import a published plugin's dist/). Not published.
export default defineConfig({
  entry: ['src/fixtures/*.ts'],
  outDir: '.fixtures',
  format: ['esm'],
  dts: false,
  clean: true,
  target: 'es2022',
});
