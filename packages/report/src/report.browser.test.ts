// Opens a real report.html in headless Chromium (Debian's `chromium`, driven by playwright-core)
// with every request but the file itself refused, and checks every plot against history.json:
// marks bound to the recorded numbers, one line per series, a legend entry per series, a rule per
// boundary, one cell per matrix entry, no console error.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { definePlugin } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import { findLr, oneCycle, reduceOnPlateau } from '@tensorloop/lr-schedules';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ReportHistory, report } from './index.js';
import { chromiumPath, digitTrainer, mnistTensors, script, tmpDir } from './test-helpers.js';

const chromium = chromiumPath();
let out: string;

/** A run with everything the report can draw: an LR range test, one-cycle over two param groups, a plateau reduction, a phase, two stages with an accuracy matrix, an early stop. */
async function richRun(): Promise<void> {
  await tf.setBackend('cpu');
  const tasks = ['0-4', '5-9'];
  const finetune = definePlugin({
    name: 'fake:finetune',
    async onEpochStart(ctx, e) {
      if (ctx.time.fitIndex === 1 && e.fitEpoch === 1)
        await ctx.emit('finetune:transition', { phase: 1, name: 'unfreeze body', unfrozen: ['body/kernel'] });
    },
  });
  const meta = definePlugin({
    name: 'fake:meta',
    async onFitStart(ctx) {
      await ctx.emit('meta:stageStart', { stage: ctx.time.fitIndex, name: tasks[ctx.time.fitIndex] });
    },
    async onFitEnd(ctx) {
      const i = ctx.time.fitIndex;
      const accuracies = Object.fromEntries(tasks.map((t, j) => [t, j <= i ? 0.95 - 0.2 * (i - j) : 0.12]));
      await ctx.emit('meta:stageEnd', { stage: i, name: tasks[i], accuracies });
    },
  });
  const rep = report({ dir: out, title: 'browser test run' });
  const data = mnistTensors(20);
  const val = mnistTensors(5, 300);
  const trainer = digitTrainer([
    finetune,
    meta,
    script('val_score', [0.5, 0.5, 0.4, 0.6, 0.6, 0.6, 0.6]),
    reduceOnPlateau({ monitor: 'val_score', mode: 'max', patience: 0, factor: 0.5 }),
    earlyStopping({ monitor: 'val_score', mode: 'max', patience: 2 }),
    oneCycle({ maxLr: { head: 5e-3, default: 2e-3 } }),
    rep,
  ]);
  const finder = await findLr(trainer, data, { steps: 40, batchSize: 10 });
  rep.recordLrFinder(finder, { chosen: finder.suggestions!.valley.lr });
  await trainer.fit(data, { epochs: 3, batchSize: 20, validationData: val });
  await trainer.fit(data, { epochs: 5, batchSize: 20, validationData: val });
  tf.dispose([data.x, data.y, val.x, val.y]);
}

beforeAll(async () => {
  out = tmpDir();
  if (!chromium.skip) await richRun();
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Figure {
  id: string;
  kind: string;
  series: string[];
  points: number[];
  markers: number;
  svg: boolean;
  width: number;
  lines: { label: string | null; vertices: number }[];
  symbols: string[];
  rules: number;
  rects: number;
  texts: string[];
  legend: string[];
}

describe('report.html in headless Chromium', () => {
  test.skipIf(chromium.skip)(
    'every plot rendered, its marks bound to history.json, no console error, nothing fetched',
    async () => {
      if (!chromium.path) throw new Error(`CI=true and ${chromium.why}`);
      const history = JSON.parse(readFileSync(path.join(out, 'history.json'), 'utf8')) as ReportHistory;
      const { chromium: launcher } = await import('playwright-core');
      const browser = await launcher.launch({
        executablePath: chromium.path,
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
        const errors: string[] = [];
        const requests: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
        });
        page.on('pageerror', (e) => errors.push(e.message));
        page.on('request', (r) => requests.push(r.url()));
        await page.route(/^(?!file:)/, (route) => route.abort());
        const url = `file://${path.join(out, 'report.html')}`;
        await page.goto(url);
        const figures = (await page.$$eval('figure[data-plot]', (nodes) =>
          nodes.map((f) => {
            const el = f as HTMLElement;
            const svg = el.querySelector('svg');
            const vertices = (d: string | null) => (d ? (d.match(/[ML]/g) ?? []).length : 0);
            return {
              id: el.id,
              kind: el.dataset.kind ?? '',
              series: JSON.parse(el.dataset.series ?? '[]') as string[],
              points: JSON.parse(el.dataset.points ?? '[]') as number[],
              markers: Number(el.dataset.markers),
              svg: svg !== null,
              width: svg?.getBoundingClientRect().width ?? 0,
              lines: Array.from(el.querySelectorAll('g.mark-line.role-mark path')).map((p) => ({
                label: p.getAttribute('aria-label'),
                vertices: vertices(p.getAttribute('d')),
              })),
              symbols: Array.from(el.querySelectorAll('g.mark-symbol.role-mark path')).map(
                (p) => p.getAttribute('aria-label') ?? '',
              ),
              rules: el.querySelectorAll('g.mark-rule.role-mark line').length,
              rects: el.querySelectorAll('g.mark-rect.role-mark path').length,
              texts: Array.from(el.querySelectorAll('g.mark-text.role-mark text')).map(
                (t) => t.textContent ?? '',
              ),
              legend: Array.from(el.querySelectorAll('g.role-legend-label text')).map(
                (t) => t.textContent ?? '',
              ),
            };
          }),
        )) as Figure[];

        expect(errors).toEqual([]);
        expect(requests).toEqual([url]);
        // Every plot the history calls for is there, rendered.
        expect(figures.map((f) => f.id)).toEqual([
          'metric-loss',
          'metric-accuracy',
          'metric-score',
          'hparam-lr',
          'hparam-beta1',
          'accuracy-matrix',
          'lr-finder',
        ]);
        for (const f of figures) {
          expect(f.svg, f.id).toBe(true);
          expect(f.width, f.id).toBeGreaterThan(200);
        }
        const byId = (id: string) => figures.find((f) => f.id === id)!;

        // Boundaries drawn on every time plot: phase, stages, the early stop, the second fit's start.
        const boundaries = history.events.filter(
          (e) =>
            e.kind === 'phase' ||
            e.kind === 'stage' ||
            e.kind === 'stop' ||
            (e.kind === 'fit' && history.fits.length > 1),
        );
        expect(boundaries.map((e) => e.kind).sort()).toEqual([
          'fit',
          'fit',
          'phase',
          'stage',
          'stage',
          'stop',
          'stop',
        ]); // early stopping ends both fits
        for (const f of figures.filter((x) => x.kind === 'time'))
          expect(f.rules, f.id).toBe(boundaries.length);

        // Epoch curves: one point per epoch and key, bound to the recorded value; one line and one
        // legend entry per key.
        for (const [id, keys] of [
          ['metric-loss', ['loss', 'val_loss']],
          ['metric-accuracy', ['accuracy', 'val_accuracy']],
          ['metric-score', ['val_score']],
        ] as const) {
          const f = byId(id);
          expect(f.legend, id).toEqual([...keys]);
          expect(
            f.lines.map((l) => /series: ([\w]+)/.exec(l.label ?? '')?.[1]),
            id,
          ).toEqual([...keys]);
          for (const l of f.lines) expect(l.vertices, id).toBe(history.epochs.length);
          const drawn = f.symbols.map((s) => {
            const m = /^epoch: ([\d.]+); \w+: (-?[\d.e-]+); series: (\w+)$/.exec(s)!;
            return { x: Number(m[1]), value: Number(m[2]), series: m[3]! };
          });
          const expected = history.epochs.flatMap((e) =>
            keys.map((k) => ({ x: e.x, value: e.logs[k]!, series: k })),
          );
          expect(drawn).toHaveLength(expected.length);
          const sort = (a: { x: number; series: string }, b: { x: number; series: string }) =>
            a.x - b.x || a.series.localeCompare(b.series);
          drawn.sort(sort);
          expected.sort(sort);
          drawn.forEach((d, i) => {
            expect(d.x).toBe(expected[i]!.x);
            expect(d.series).toBe(expected[i]!.series);
            expect(Math.abs(d.value - expected[i]!.value)).toBeLessThanOrEqual(
              Math.abs(expected[i]!.value) * 1e-5 + 1e-9,
            );
          });
        }

        // Hyperparameters: a line per param group with as many vertices as points drawn.
        for (const id of ['hparam-lr', 'hparam-beta1']) {
          const f = byId(id);
          expect(f.series, id).toEqual(['head', 'default']);
          expect(f.legend, id).toEqual(['head', 'default']);
          expect(
            f.lines.map((l) => l.vertices),
            id,
          ).toEqual(f.points);
          const name = id === 'hparam-lr' ? 'lr' : 'beta1';
          const recorded = history.hparams.filter((h) => h.name === name).map((h) => h.points.length);
          // every recorded change is drawn (no downsampling below 400), plus the value held to the end
          f.points.forEach((n, i) => {
            expect(n).toBeGreaterThanOrEqual(Math.min(recorded[i]!, 400));
          });
          const first = f.lines[0]!.label!;
          expect(first).toMatch(new RegExp(`^epoch: 0; ${name}: [\\d.e-]+; series: head$`));
        }
        // The plateau reduction is a marker on the lr plot.
        const plateau = history.events.filter((e) => e.kind === 'plateau');
        expect(plateau.length).toBeGreaterThan(0);
        expect(byId('hparam-lr').symbols).toHaveLength(plateau.length);

        // The accuracy matrix: one cell per entry, its number written in it.
        const matrix = byId('accuracy-matrix');
        const cells = history.accuracyMatrix!.rows.flatMap((r) => r.values.filter((v) => v !== null));
        expect(cells).toHaveLength(4);
        expect(matrix.rects).toBe(cells.length);
        expect(matrix.texts.sort()).toEqual(cells.map((v) => v!.toFixed(2)).sort());

        // The LR range test: raw and smoothed curves with every point, the three suggestions.
        const finder = byId('lr-finder');
        const curve = history.lrFinder!.curve.length;
        expect(finder.lines.map((l) => l.vertices)).toEqual([curve, curve]);
        expect(finder.symbols).toEqual(
          history.lrFinder!.suggestions.map((s) => `${s.name} ${s.lr.toExponential(1)}`),
        );
        expect(finder.rules).toBe(1); // the lr that was used

        await page.screenshot({ path: path.join(out, 'screenshot.png'), fullPage: true });
      } finally {
        await browser.close();
      }
    },
  );
});
