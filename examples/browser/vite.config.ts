import { createRequire } from 'node:module';
import { defineConfig, type Plugin } from 'vite';

/** Digits per class bundled into the page: training set, then validation set (distinct samples). */
const TRAIN_PER_CLASS = 200;
const VAL_PER_CLASS = 50;
const VIRTUAL = 'virtual:mnist-digits';

/**
 * `import digits from 'virtual:mnist-digits'`: real digits from the `mnist` package (its 21 MB of
 * JSON are read at build time), as 8-bit pixels in base64, so the page ships about 1 MB of data.
 */
function mnistDigits(): Plugin {
  return {
    name: 'mnist-digits',
    resolveId: (id) => (id === VIRTUAL ? `\0${VIRTUAL}` : undefined),
    load(id) {
      if (id !== `\0${VIRTUAL}`) return undefined;
      const mnist = createRequire(import.meta.url)('mnist') as Record<
        number,
        { set(a: number, b: number): { input: number[] }[] }
      >;
      const pack = (offset: number, perClass: number) => {
        const pixels = new Uint8Array(10 * perClass * 784);
        const labels = new Uint8Array(10 * perClass);
        let row = 0;
        for (let d = 0; d < 10; d++) {
          for (const { input } of mnist[d]!.set(offset, offset + perClass - 1)) {
            pixels.set(
              input.map((v) => Math.round(v * 255)),
              row * 784,
            );
            labels[row++] = d;
          }
        }
        return {
          count: row,
          pixels: Buffer.from(pixels).toString('base64'),
          labels: Buffer.from(labels).toString('base64'),
        };
      };
      const digits = { train: pack(0, TRAIN_PER_CLASS), validation: pack(TRAIN_PER_CLASS, VAL_PER_CLASS) };
      return `export default ${JSON.stringify(digits)};`;
    },
  };
}

export default defineConfig({
  plugins: [mnistDigits()],
  worker: { format: 'es', plugins: () => [mnistDigits()] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096, reportCompressedSize: false },
});
