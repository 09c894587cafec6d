// Screenshot of the demo's report for the README: run the demo first (npx -y pnpm@10 demo), then
//   node examples/demo/screenshot.mjs [out.png]     (needs Chromium: apt-get install -y chromium)
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const html = path.join(here, 'report', 'report.html');
const out = path.resolve(
  process.argv[2] ?? path.join(here, '..', '..', 'packages', 'report', 'docs', 'report.png'),
);
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(html)) throw new Error(`no ${html}: run the demo first`);
if (!existsSync(executablePath))
  throw new Error(`no Chromium at ${executablePath} (apt-get install -y chromium)`);
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1180, height: 900 }, deviceScaleFactor: 1 });
  await page.route(/^(?!file:)/, (route) => route.abort());
  await page.goto(pathToFileURL(html).href);
  // The plots and the summary: the top of the page.
  const height = Math.ceil(
    await page.evaluate(() => document.querySelector('section.figures').getBoundingClientRect().bottom + 16),
  );
  await page.setViewportSize({ width: 1180, height });
  await page.screenshot({ path: out, clip: { x: 0, y: 0, width: 1180, height } });
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
} finally {
  await browser.close();
}
