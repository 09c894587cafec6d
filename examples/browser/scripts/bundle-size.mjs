// Bundles core + early-stopping + lr-schedules for the browser with Vite (minified, ES2022), with
// @tensorflow/tfjs left out (a peer the app bundles anyway) and with it, and prints the sizes.
// It fails if the browser bundle imports a Node built-in. Run: node scripts/bundle-size.mjs
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const entry = new URL('./bundle-entry.js', import.meta.url).pathname;

async function bundle(external) {
  const out = await build({
    configFile: false,
    logLevel: 'silent',
    build: {
      write: false,
      minify: true,
      target: 'es2022',
      lib: { entry, formats: ['es'], fileName: 'bundle' },
      rolldownOptions: { external },
    },
  });
  const chunks = (Array.isArray(out) ? out : [out])
    .flatMap((o) => o.output)
    .filter((o) => o.type === 'chunk');
  const code = chunks.map((c) => c.code).join('\n');
  const nodeImports = [
    ...code.matchAll(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)["'](node:[^"']+|fs|path|crypto)["']/g),
  ].map((m) => m[1]);
  return { bytes: Buffer.byteLength(code), gzip: gzipSync(code).byteLength, nodeImports };
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const rows = [
  ['core + early-stopping + lr-schedules (tfjs external)', await bundle([/^@tensorflow\//])],
  ['the same with @tensorflow/tfjs bundled', await bundle([])],
];
console.log('| bundle | minified | gzip |\n|---|---|---|');
for (const [name, r] of rows) console.log(`| ${name} | ${kb(r.bytes)} | ${kb(r.gzip)} |`);
const bad = rows.flatMap(([, r]) => r.nodeImports);
if (bad.length > 0) {
  console.error(`the browser bundle imports Node built-ins: ${[...new Set(bad)].join(', ')}`);
  process.exit(1);
}
