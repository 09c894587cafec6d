// The bundled index.d.ts keeps core's own `declare module '../plugin.js'` augmentations verbatim
// (the bundler does not rewrite relative module names), which would point nowhere once bundled.
// In the bundle they must augment the package itself, exactly as a third-party plugin does.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../dist/index.d.ts', import.meta.url);
const text = readFileSync(file, 'utf8');
const fixed = text.replaceAll(
  /declare module ['"]\.\.?\/[^'"]+['"] \{/g,
  "declare module '@tensorloop/core' {",
);
if (fixed === text && !text.includes("declare module '@tensorloop/core'")) {
  console.error(
    'self-augment-dts: no core augmentation found in dist/index.d.ts (expected the checkpoint plugin types)',
  );
  process.exit(1);
}
writeFileSync(file, fixed);
