// The example in Debian's headless Chromium (playwright-core, no browser download): trains, saves to
// IndexedDB, reloads, resumes to the uninterrupted weights, trains in a hidden tab, answers clicks,
// trains in a worker. Needs `vite build` first (turbo runs `build` before `test`).
// Without Chromium it is skipped, except under CI=true, where it fails (.ci/run installs chromium).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromiumPath, serveDirectory } from './harness.mjs';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const chromium = chromiumPath();
const ACCURACY = 0.85;
const CLICK_MS = 100;

describe('examples/browser in headless Chromium', { skip: chromium.skip && chromium.why }, () => {
  let browser;
  let server;
  let origin;
  const consoleErrors = [];

  before(async () => {
    if (!chromium.path) throw new Error(`CI=true and ${chromium.why}`);
    if (!existsSync(`${dist}index.html`)) throw new Error(`no ${dist}index.html: run vite build first`);
    ({ server, origin } = await serveDirectory(dist));
    const { chromium: launcher } = await import('playwright-core');
    browser = await launcher.launch({
      executablePath: chromium.path,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  async function openPage(context, query = '') {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(`${origin}/${query}`);
    await page.waitForFunction(() => window.tl?.state.backend !== '', null, { polling: 50 });
    return page;
  }
  const state = (page) =>
    page.evaluate(() => JSON.parse(JSON.stringify({ ...window.tl.state, result: undefined })));
  const waitDone = (page, timeout = 300_000) =>
    page.waitForFunction(() => !window.tl.state.running && window.tl.state.result !== undefined, null, {
      polling: 100,
      timeout,
    });
  const result = (page) => page.evaluate(() => window.tl.state.result);

  test('train, save to IndexedDB, reload, resume: the resumed run ends with the uninterrupted weights', async () => {
    const context = await browser.newContext({ viewport: { width: 860, height: 520 } });
    const page = await openPage(context);
    const backend = (await state(page)).backend;
    console.log(`# backend: ${backend}`);

    await page.click('#train');
    await waitDone(page);
    const straight = await result(page);
    console.log(
      `# uninterrupted: ${straight.epochs} epochs, step ${straight.step}, val_accuracy ${straight.valAccuracy.toFixed(4)}` +
        (straight.stopReason ? ` (${straight.stopReason})` : ''),
    );
    assert.ok(straight.valAccuracy > ACCURACY, `val_accuracy ${straight.valAccuracy} ≤ ${ACCURACY}`);
    mkdirSync(new URL('../.screenshots/', import.meta.url), { recursive: true });
    await page.screenshot({ path: fileURLToPath(new URL('../.screenshots/trained.png', import.meta.url)) });

    // Interrupted: Save during epoch 3 (a mid-epoch checkpoint), then Stop, then a reload.
    await page.reload();
    await page.waitForFunction(() => window.tl?.state.backend !== '', null, { polling: 50 });
    await page.evaluate(() => window.tl.removeCheckpoint('indexeddb://mnist-run'));
    await page.click('#train');
    await page.waitForFunction(() => window.tl.state.epoch >= 2, null, { polling: 20, timeout: 300_000 });
    await page.click('#save');
    await page.waitForFunction(() => window.tl.state.saved.length > 0, null, { polling: 20 });
    await page.click('#stop');
    await waitDone(page);
    const interrupted = await result(page);
    assert.equal(interrupted.stopReason, 'stopped from the page');
    const listed = await page.evaluate(async () =>
      (await window.tl.listCheckpoints('indexeddb://')).map((c) => c.url),
    );
    assert.ok(listed.includes('indexeddb://mnist-run'), `saved runs: ${listed}`);

    await page.reload();
    await page.waitForFunction(() => window.tl?.state.backend !== '', null, { polling: 50 });
    await page.click('#resume');
    await waitDone(page);
    const resumed = await result(page);
    assert.equal(resumed.step, straight.step);
    assert.equal(resumed.weights.length, straight.weights.length);
    let maxDiff = 0;
    for (let i = 0; i < straight.weights.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(resumed.weights[i] - straight.weights[i]));
    }
    console.log(
      `# resume after reload: max |weight difference| = ${maxDiff} over ${straight.weights.length} weights`,
    );
    assert.ok(maxDiff <= 1e-5, `resumed weights differ by ${maxDiff}`);
    await context.close();
  });

  test('a hidden tab keeps training, and a click is handled within 100 ms during training', async () => {
    const context = await browser.newContext();
    const page = await openPage(context, '?epochs=200');
    await page.click('#train');
    await page.waitForFunction(() => window.tl.state.step > 20, null, { polling: 20, timeout: 120_000 });

    for (let i = 0; i < 10; i++) {
      await page.click('#ping');
      await page.waitForTimeout(30);
    }
    const latencies = await page.evaluate(() => window.tl.state.clickLatencies);
    const worst = Math.max(...latencies);
    console.log(
      `# click latency during training: max ${worst.toFixed(1)} ms, all ${latencies.map((l) => l.toFixed(1)).join(', ')}`,
    );
    assert.equal(latencies.length, 10);
    assert.ok(worst < CLICK_MS, `a click waited ${worst} ms`);

    await page.click('#stop');
    await waitDone(page);

    // Headless Chromium keeps every tab visible (Playwright emulates focus), so this tab is hidden
    // the way a browser treats a background tab, before any script runs: visibilityState 'hidden',
    // no animation frames, timers clamped to 1 s. Plain tfjs model.fit (which waits for animation
    // frames) runs alongside as the control: it must stall where tensorloop goes on. (cpu backend:
    // WebGL's read-backs poll with setTimeout, which the clamp would slow to 1 s each.)
    await context.addInitScript(() => {
      Object.defineProperty(document, 'visibilityState', { get: () => 'hidden', configurable: true });
      Object.defineProperty(document, 'hidden', { get: () => true, configurable: true });
      window.requestAnimationFrame = () => 0;
      const setTimeout0 = window.setTimeout.bind(window);
      window.setTimeout = (fn, ms, ...rest) => setTimeout0(fn, Math.max(ms ?? 0, 1000), ...rest);
    });
    const hiddenPage = await openPage(context, '?epochs=200&backend=cpu');
    await hiddenPage.evaluate(() => {
      window.tl.probes.startTfjsFit(window.tl.state);
      document.getElementById('train').click();
    });
    await hiddenPage.waitForFunction(() => window.tl.state.step > 100, null, {
      polling: 100,
      timeout: 120_000,
    });
    const hidden = await state(hiddenPage);
    console.log(
      `# hidden tab (emulated): tensorloop trained ${hidden.step} steps; tfjs model.fit alongside: ${hidden.tfjsBatches} batches`,
    );
    assert.equal(await hiddenPage.evaluate(() => document.visibilityState), 'hidden');
    assert.ok(hidden.tfjsBatches <= 2, `the control did not stall: ${hidden.tfjsBatches} batches`);
    await hiddenPage.evaluate(() => document.getElementById('stop').click());
    await waitDone(hiddenPage);
    await context.close();
  });

  test('training in a worker reports progress and ends with the same accuracy bar', async () => {
    const context = await browser.newContext();
    const page = await openPage(context, '?epochs=4');
    await page.click('#train-worker');
    await page.waitForFunction(() => window.tl.state.epoch >= 1, null, { polling: 50, timeout: 300_000 });
    await waitDone(page);
    const worker = await result(page);
    console.log(`# worker: ${worker.epochs} epochs, val_accuracy ${worker.valAccuracy.toFixed(4)}`);
    assert.ok(worker.valAccuracy > ACCURACY, `worker val_accuracy ${worker.valAccuracy}`);
    assert.equal(worker.weights.length, 784 * 64 + 64 + 64 * 10 + 10);
    await context.close();
  });

  test('OPFS checkpoints round-trip where available; a damaged IndexedDB record is refused', async () => {
    const context = await browser.newContext();
    const page = await openPage(context);
    const opfs = await page.evaluate(() => window.tl.probes.opfsRoundTrip());
    console.log(`# opfs: ${JSON.stringify(opfs)}`);
    if (opfs.available) {
      assert.deepEqual(opfs.listed, ['opfs://probe/run']);
      assert.equal(opfs.maxDiff, 0);
      assert.equal(opfs.afterRemove, 0);
    }
    const damaged = await page.evaluate(() => window.tl.probes.damagedRecord());
    assert.deepEqual(damaged, { refused: true, code: 'TL_CHECKPOINT_CORRUPT' });
    const webgl = await page.evaluate(() => window.tl.probes.webgl());
    console.log(`# webgl: ${JSON.stringify(webgl)}`);
    await context.close();
  });

  test('no console errors in any page', () => {
    assert.deepEqual(consoleErrors, [], consoleErrors.join('\n'));
  });
});
