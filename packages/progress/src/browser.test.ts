// The browser build: bundled for platform=browser (the exports map's "browser" condition) it holds
// no cli-progress and no Node module, and in headless Chromium it prints plain lines to the console.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chromiumPath } from './test-helpers.js';

const pkgDir = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const here = path.join(pkgDir, 'node_modules');
let dir: string;

/** A folder whose node_modules holds this package (by name, as an app would install it), core and tfjs. */
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tl-progress-bundle-'));
  const modules = path.join(dir, 'node_modules');
  mkdirSync(path.join(modules, '@tensorloop'), { recursive: true });
  mkdirSync(path.join(modules, '@tensorflow'), { recursive: true });
  symlinkSync(pkgDir, path.join(modules, '@tensorloop', 'progress'), 'dir');
  symlinkSync(
    realpathSync(path.join(here, '@tensorloop', 'core')),
    path.join(modules, '@tensorloop', 'core'),
    'dir',
  );
  symlinkSync(
    realpathSync(path.join(here, '@tensorflow', 'tfjs')),
    path.join(modules, '@tensorflow', 'tfjs'),
    'dir',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bundle(contents: string, external: string[] = []) {
  return build({
    stdin: { contents, resolveDir: dir, loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    external,
  });
}

describe('browser build', () => {
  test('bundles for platform=browser with no cli-progress and no Node module', async () => {
    // Core and tfjs external: what is left is this package's code and whatever it pulls in.
    const result = await bundle("export { progress } from '@tensorloop/progress';", [
      '@tensorflow/tfjs',
      '@tensorloop/core',
    ]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((f) => f.endsWith('dist/browser.js'))).toBe(true);
    expect(inputs.filter((f) => /cli-progress|string-width|readline/.test(f))).toEqual([]);
    const js = result.outputFiles[0]!.text;
    expect(js).not.toMatch(/from\s*["']node:|require\(["'](readline|events|node:)/);
    expect(js).not.toContain('process.stdout');
    // The Node build, for contrast, loads cli-progress (lazily).
    const node = await build({
      stdin: { contents: "export { progress } from '@tensorloop/progress';", resolveDir: dir, loader: 'js' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      external: ['@tensorflow/tfjs', '@tensorloop/core'],
    });
    expect(Object.keys(node.metafile.inputs).some((f) => f.includes('cli-progress'))).toBe(true);
  });

  const chromium = chromiumPath();
  test.skipIf(chromium.skip)(
    'trains in headless Chromium and prints plain lines to the console',
    async () => {
      if (!chromium.path) throw new Error(`CI=true and ${chromium.why}`);
      const page = await bundle(`
      import * as tf from '@tensorflow/tfjs';
      import { Trainer } from '@tensorloop/core';
      import { progress } from '@tensorloop/progress';
      try {
        await tf.setBackend('cpu');
        const x = tf.randomNormal([64, 4], 0, 1, 'float32', 1);
        const y = tf.oneHot(tf.argMax(tf.matMul(x, tf.randomNormal([4, 3], 0, 1, 'float32', 2)), 1), 3).toFloat();
        const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, activation: 'softmax' })] });
        const trainer = new Trainer({ model, loss: 'categoricalCrossentropy', metrics: ['accuracy'],
          optimizer: tf.train.adam(0.05), plugins: [progress({ refreshMs: 0 })], log: 'silent' });
        const { history } = await trainer.fit({ x, y }, { epochs: 2, batchSize: 16 });
        window.__result = { logs: history.map((h) => h.logs) };
      } catch (e) {
        window.__result = { error: String(e && e.stack || e) };
      }
    `);
      const js = page.outputFiles[0]!.text;
      const { chromium: launcher } = await import('playwright-core');
      const browser = await launcher.launch({
        executablePath: chromium.path,
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      });
      try {
        const tab = await browser.newPage();
        const lines: string[] = [];
        const errors: string[] = [];
        tab.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : lines.push(m.text())));
        tab.on('pageerror', (e) => errors.push(e.message));
        await tab.route('**/*', (route) => {
          const url = route.request().url();
          if (url.endsWith('/page.js')) return route.fulfill({ contentType: 'text/javascript', body: js });
          if (url === 'http://localhost/') {
            return route.fulfill({
              contentType: 'text/html',
              body: '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>',
            });
          }
          return route.abort();
        });
        await tab.goto('http://localhost/');
        await tab.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, null, {
          timeout: 60_000,
        });
        const result = (await tab.evaluate(() => (window as { __result?: unknown }).__result)) as {
          logs?: Record<string, number>[];
          error?: string;
        };
        expect(result.error).toBeUndefined();
        expect(errors).toEqual([]);
        const ours = lines.filter((l) => /^(fit|epoch|done)\b/.test(l));
        expect(ours[0]).toBe('fit 1 · 2 epochs × 4 steps · batch 16');
        expect(ours.slice(1, 3).map((l) => Number(/ · loss (\d\.\d{4})/.exec(l)?.[1]))).toEqual(
          result.logs!.map((l) => Number(l.loss!.toFixed(4))),
        );
        expect(ours[3]).toMatch(/^done: 2 of 2 epochs in /);
      } finally {
        await browser.close();
      }
    },
  );
});
