// What the browser yield policy costs (issue 19): Trainer.fit in headless Chromium with
// yield 'never' vs 'auto' (a MessageChannel macrotask at most every 16 ms) vs { everyMs: 0 } (one
// after every batch), on cpu and WebGL (SwiftShader under --disable-gpu). Ratios are medians of
// per-round paired ratios against 'never'; "page tasks" counts the timer tasks a page-side
// setTimeout(0) chain got to run during the epoch (0 means the page was frozen).
//
//   node bench/src/browser-yield.mjs        (from the repository root, after a build)
//
// Environment (optional): TL_BENCH_REPS=7  CHROMIUM=/usr/bin/chromium
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';
import { build } from 'vite';

const REPS = Number(process.env.TL_BENCH_REPS ?? 7);
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(executablePath))
  throw new Error(`no Chromium at ${executablePath} (apt-get install -y chromium)`);

const out = await build({
  configFile: false,
  logLevel: 'silent',
  build: {
    write: false,
    minify: true,
    target: 'es2022',
    lib: {
      entry: new URL('./browser/yield-page.js', import.meta.url).pathname,
      formats: ['es'],
      fileName: 'page',
    },
  },
});
const js = (Array.isArray(out) ? out : [out]).flatMap((o) => o.output).find((o) => o.type === 'chunk').code;
const html =
  '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="/page.js"></script>';
const server = createServer((req, res) => {
  if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
  else res.writeHead(200, { 'content-type': 'text/html' }).end(html);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const results = [];
let roundTrip;
try {
  {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => typeof window.roundTripUs === 'function');
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await page.evaluate((n) => window.roundTripUs(n), 5000));
    roundTrip = median(runs);
    await page.close();
  }
  for (const [backend, samples, batchSize] of [
    ['cpu', 2048, 32],
    ['cpu', 2048, 128],
    ['webgl', 2048, 32],
  ]) {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => typeof window.runBench === 'function');
    const r = await page.evaluate((o) => window.runBench(o), { backend, reps: REPS, samples, batchSize });
    for (const name of ['never', 'auto', 'everyBatch']) {
      results.push({
        backend: r.backend,
        batchSize,
        batches: r.batches,
        variant: name,
        medianMs: median(r.rounds.map((x) => x[name].ms)),
        ratio: median(r.rounds.map((x) => x[name].ms / x.never.ms)),
        pageTasks: median(r.rounds.map((x) => x[name].pageTasks)),
      });
    }
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
const version = browser.version();
const label = { never: "'never'", auto: "'auto' (16 ms)", everyBatch: '{ everyMs: 0 }' };
const lines = [
  '# Browser yield policy: the cost of keeping the page responsive',
  '',
  `Command: \`node bench/src/browser-yield.mjs\` (TL_BENCH_REPS=${REPS}), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, Chromium ${version} headless (--no-sandbox --disable-gpu: WebGL is SwiftShader, on the CPU), a loaded shared 2-core machine.`,
  '',
  'One epoch of Trainer.fit (784→64→10 dense, adam, 2,048 samples) per variant, variants interleaved with the order rotated each round; time and ratio are medians over rounds, the ratio of each round paired against `never`. "Page tasks" are the timer tasks a `setTimeout(0)` chain of the page got to run during that epoch (the browser clamps the chain to one per 4 ms): 0 means the page was frozen for the whole fit.',
  '',
  `**One yield alone** (a MessageChannel round trip, what \`'auto'\` awaits, median of 5 × 5,000 in the page): ${roundTrip.toFixed(1)} µs, so \`'auto'\` spends at most ${((roundTrip / 1000 / 16) * 100).toFixed(2)}% of training time yielding (at most one round trip per 16 ms of training; when a batch takes longer than 16 ms, one per batch). The end-to-end epochs below are dominated by the machine's noise: their ratios scatter on both sides of 1 by more than that cost.`,
  '',
  '| backend | batch | batches | yield | epoch ms | ratio vs never | page tasks |',
  '|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.backend} | ${r.batchSize} | ${r.batches} | ${label[r.variant]} | ${r.medianMs.toFixed(0)} | ${r.ratio.toFixed(3)} | ${r.pageTasks} |`,
  ),
  '',
];
const file = new URL('../results/browser-yield.md', import.meta.url);
writeFileSync(file, lines.join('\n'));
writeFileSync(
  new URL('../results/browser-yield.json', import.meta.url),
  `${JSON.stringify({ reps: REPS, chromium: version, roundTripUs: roundTrip, results }, null, 2)}\n`,
);
console.log(lines.join('\n'));
