#!/usr/bin/env node
// The testkit as an outsider gets it: pack @tensorloop/core and @tensorloop/testkit (built), install
// the tarballs with npm in a temporary folder outside the workspace (plus @tensorflow/tfjs and
// typescript from the registry), write a plugin in TypeScript, type-check and compile it against the
// packed types, and run checkPlugin on it with `node --test`. Part of the root test command.
// Needs the npm registry. Usage: node scripts/testkit-outsider.mjs [--keep]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const keep = process.argv.includes('--keep');
const started = performance.now();
const work = mkdtempSync(join(tmpdir(), 'tl-outsider-'));
const app = join(work, 'my-plugin');
mkdirSync(app);

const run = (cmd, args, cwd, inherit = false) =>
  execFileSync(cmd, args, {
    cwd,
    stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
const step = (what) =>
  console.log(`testkit-outsider: ${what} (${((performance.now() - started) / 1000).toFixed(1)} s)`);

try {
  for (const pkg of ['core', 'testkit']) {
    run('npx', ['-y', 'pnpm@10', 'pack', '--pack-destination', app], join(root, 'packages', pkg));
  }
  const tarballs = readdirSync(app).filter((f) => f.endsWith('.tgz'));
  const coreTarball = tarballs.find((f) => f.startsWith('tensorloop-core-'));
  step(`packed ${tarballs.join(', ')}`);

  // Until the first release the packed versions are 0.0.0 while the testkit's peer range is ^0.1.0
  // (the version the first changesets release gives both): the override points that peer at the
  // packed core, as a released 0.1.0 pair would match on its own.
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify(
      {
        name: 'my-tensorloop-plugin',
        private: true,
        type: 'module',
        dependencies: { '@tensorloop/core': `file:${coreTarball}` },
        overrides: { '@tensorloop/core': '$@tensorloop/core' },
      },
      null,
      2,
    )}\n`,
  );
  run(
    'npm',
    [
      'i',
      ...tarballs.map((t) => `./${t}`),
      '@tensorflow/tfjs@4.22.0',
      'typescript@5.9',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
    ],
    app,
  );
  step('installed the tarballs, @tensorflow/tfjs and typescript with npm');

  writeFileSync(
    join(app, 'tsconfig.json'),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          lib: ['ES2022', 'DOM'],
          types: [],
          outDir: 'dist',
        },
        include: ['src'],
      },
      null,
      2,
    )}\n`,
  );
  mkdirSync(join(app, 'src'));
  // A plugin an outsider writes: it keeps the best loss, adds it to the logs, and checkpoints it.
  writeFileSync(
    join(app, 'src', 'best-loss.ts'),
    `import { definePlugin, type Plugin, readState } from '@tensorloop/core';

declare module '@tensorloop/core' {
  interface PluginStateMap { 'my-tensorloop-plugin': { best: number | null } }
  interface Logs { best_loss?: number }
}

export function bestLoss(): Plugin<'my-tensorloop-plugin'> {
  let best: number | null = null;
  return definePlugin({
    name: 'my-tensorloop-plugin',
    onEpochEnd(_ctx, { logs, partial }) {
      if (partial || logs.loss === undefined) return;
      if (best === null || logs.loss < best) best = logs.loss;
      logs.best_loss = best;
    },
    state: () => ({ best }),
    parseState: (saved) => ({ best: readState(saved, 'my-tensorloop-plugin').number('best', { nullable: true }) }),
    loadState: (s) => {
      best = s.best;
    },
  });
}
`,
  );
  mkdirSync(join(app, 'test'));
  writeFileSync(
    join(app, 'test', 'best-loss.test.mjs'),
    `import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertWellBehaved, checkPlugin } from '@tensorloop/testkit';

test('my plugin passes @tensorloop/testkit', async () => {
  const report = await checkPlugin({ module: new URL('../dist/best-loss.js', import.meta.url), export: 'bestLoss' });
  console.log(report.format());
  assertWellBehaved(report);
  assert.equal(report.check('resume')?.status, 'pass');
});
`,
  );
  run(join(app, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], app, true);
  step('type-checked and compiled the plugin against the packed types');
  run(
    'node',
    [
      '--test',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(root, 'scripts', 'node-test-reporter.mjs')}`,
      `--test-reporter-destination=${join(root, '.test-results', 'testkit-outsider.json')}`,
      'test/',
    ],
    app,
    true,
  );
  step('checkPlugin passed outside the workspace');
} finally {
  if (keep) console.log(`testkit-outsider: kept ${app}`);
  else rmSync(work, { recursive: true, force: true });
}
