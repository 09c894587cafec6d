// Bundles src/page.js with esbuild, serves it on 127.0.0.1, opens it in headless Chromium
// (playwright-core, no browser download: CHROMIUM=/path or /usr/bin/chromium), and checks that the
// Trainer trained in the page. Exits 0 with a "skipped" line when no Chromium binary exists.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';

const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  console.log(
    `browser smoke test skipped: no Chromium at ${executablePath} (apt-get install chromium, or set CHROMIUM)`,
  );
  process.exit(0);
}

const bundle = await build({
  entryPoints: [new URL('./src/page.js', import.meta.url).pathname],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  write: false,
  logLevel: 'error',
});
const js = bundle.outputFiles[0].text;
const html =
  '<!doctype html><meta charset="utf-8"><title>tensorloop</title><script type="module" src="/page.js"></script>';
const server = createServer((req, res) => {
  if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
  else res.writeHead(200, { 'content-type': 'text/html' }).end(html);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();

const browser = await chromium.launch({
  executablePath,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
let failed = false;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 120_000 });
  const result = await page.evaluate(() => window.__result);
  console.log(JSON.stringify(result));
  const problems = [];
  if (result.error) problems.push(result.error);
  else {
    if (result.backend !== 'cpu') problems.push(`backend ${result.backend}`);
    if (!(result.epochs.at(-1) < result.epochs[0] * 0.5))
      problems.push(`loss did not fall: ${result.epochs}`);
    if (!(result.accuracy > 0.95)) problems.push(`accuracy ${result.accuracy}`);
    if (result.timeEpoch !== 10) problems.push(`restore() did not return to epoch 10 (${result.timeEpoch})`);
    if (result.saveError !== 'TL_CHECKPOINT_IO')
      problems.push(`save() in a browser gave ${result.saveError}`);
  }
  if (problems.length) {
    failed = true;
    console.error(`browser smoke test FAILED:\n- ${problems.join('\n- ')}`);
  } else {
    console.log(
      `browser smoke test passed: loss ${result.epochs[0].toFixed(3)} → ${result.epochs.at(-1).toFixed(3)}, accuracy ${result.accuracy}`,
    );
  }
} finally {
  await browser.close();
  server.close();
}
process.exit(failed ? 1 : 0);
