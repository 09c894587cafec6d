import type { Chart } from './charts.js';
import type { ReportHistory } from './types.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function num(value: number | undefined | null, digits = 4): string {
  if (value === undefined || value === null) return '–';
  if (!Number.isFinite(value)) return String(value);
  const m = Math.abs(value);
  if (m !== 0 && (m < 1e-3 || m >= 1e5)) return value.toExponential(2);
  return value.toFixed(m >= 100 ? 1 : digits);
}

function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return '–';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

const STYLE = `
:root { color-scheme: light; --fg:#1d1f23; --muted:#5f6570; --line:#e4e6ea; --bg:#f6f7f9; --card:#fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 22px 28px 10px; }
h1 { margin: 0 0 4px; font-size: 21px; font-weight: 650; letter-spacing: -0.01em; }
h2 { font-size: 15px; margin: 26px 0 10px; font-weight: 620; }
.meta { margin: 0; color: var(--muted); }
main { padding: 0 28px 28px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0 4px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; min-width: 120px; }
.card b { display: block; font-size: 17px; font-weight: 620; }
.card span { color: var(--muted); font-size: 12px; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 14px; margin-top: 14px; }
figure { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 10px 6px; overflow-x: auto; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12px; padding: 2px 4px 2px; }
.key { color: var(--muted); font-size: 12px; margin-top: 8px; }
.key i { display: inline-block; width: 16px; border-top: 2px dashed; vertical-align: middle; margin: 0 4px 0 10px; }
table { border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 8px; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); background: #fafbfc; }
td.n { font-variant-numeric: tabular-nums; white-space: nowrap; }
.kind { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 11.5px; background: #eef0f3; }
.kind.stop, .kind.error { background: #fbe3e0; color: #8c2218; }
.kind.phase { background: #efe3f6; color: #5e2a7a; }
.kind.stage, .kind.stage-end { background: #ddf2ec; color: #0e5c4c; }
.kind.plateau { background: #fdf0d9; color: #7a4b00; }
details { margin-top: 10px; }
summary { cursor: pointer; color: var(--muted); }
footer { color: var(--muted); font-size: 12px; padding: 0 28px 28px; }
`;

function cards(history: ReportHistory): string {
  const fits = history.fits;
  const epochs = history.epochs.length;
  const steps = history.epochs.at(-1)?.step ?? 0;
  const time = fits.reduce((a, f) => a + (f.seconds ?? 0), 0);
  const last = history.epochs.at(-1)?.logs ?? {};
  const items: [string, string][] = [
    [String(epochs), `epoch${epochs === 1 ? '' : 's'} in ${fits.length} fit${fits.length === 1 ? '' : 's'}`],
    [steps.toLocaleString('en-US'), 'optimizer steps'],
    [seconds(time), 'training time'],
  ];
  for (const key of ['val_loss', 'val_accuracy', 'loss', 'accuracy']) {
    if (typeof last[key] === 'number') items.push([num(last[key]), `last ${key}`]);
  }
  if (history.accuracyMatrix)
    items.push([String(history.accuracyMatrix.tasks.length), 'continual-learning tasks']);
  return `<div class="cards">${items.map(([b, s]) => `<div class="card"><b>${escapeHtml(b)}</b><span>${escapeHtml(s)}</span></div>`).join('')}</div>`;
}

function fitsTable(history: ReportHistory): string {
  if (history.fits.length === 0) return '';
  const rows = history.fits.map((f) => {
    const epochs = history.epochs.filter((e) => e.fit === f.index);
    const logs = epochs.at(-1)?.logs ?? {};
    const metrics = Object.entries(logs)
      .filter(([k]) => k !== 'smooth_loss')
      .map(([k, v]) => `${k} ${num(v)}`)
      .join(' · ');
    const ended = f.error
      ? `error: ${f.error}`
      : f.stopReason
        ? `stopped by ${f.stopReason.by}: ${f.stopReason.message}`
        : f.completed
          ? 'ran its planned length'
          : f.completed === null
            ? 'running'
            : 'ended early';
    return `<tr><td class="n">${f.index + 1}</td><td class="n">${epochs.length} / ${f.epochs}</td><td>${escapeHtml(ended)}</td><td>${escapeHtml(metrics)}</td><td class="n">${seconds(f.seconds)}</td></tr>`;
  });
  return `<h2>Fits</h2><table><thead><tr><th>fit</th><th>epochs run / planned</th><th>how it ended</th><th>last epoch</th><th>time</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function figure(chart: Chart, svg: string): string {
  const attrs = [
    `id="${escapeHtml(chart.id)}"`,
    `data-plot="${escapeHtml(chart.id)}"`,
    `data-kind="${chart.kind}"`,
    `data-series="${escapeHtml(JSON.stringify(chart.series))}"`,
    `data-points="${escapeHtml(JSON.stringify(chart.points))}"`,
    `data-markers="${chart.markers}"`,
    `data-interpolate="${chart.interpolate}"`,
  ].join(' ');
  return `<figure ${attrs}>${svg}<figcaption>${escapeHtml(chart.caption)}</figcaption></figure>`;
}

function eventsTable(history: ReportHistory): string {
  const notable = history.events.filter((e) => e.kind !== 'message');
  const messages = history.events.filter((e) => e.kind === 'message');
  const row = (e: ReportHistory['events'][number]) =>
    `<tr><td class="n">${e.x.toFixed(2)}</td><td class="n">${e.step}</td><td><span class="kind ${e.kind}">${escapeHtml(e.kind)}</span></td><td>${escapeHtml(e.source)}</td><td>${escapeHtml(e.message)}</td></tr>`;
  const head =
    '<thead><tr><th>epoch</th><th>step</th><th>what</th><th>from</th><th>message</th></tr></thead>';
  let html = '<h2>Events</h2>';
  html += notable.length
    ? `<table>${head}<tbody>${notable.map(row).join('')}</tbody></table>`
    : '<p class="meta">No events.</p>';
  if (messages.length) {
    html += `<details${messages.length <= 30 ? ' open' : ''}><summary>Messages from plugins (${messages.length})</summary><table>${head}<tbody>${messages.map(row).join('')}</tbody></table></details>`;
  }
  return html;
}

function hparamsTable(history: ReportHistory): string {
  if (history.fits.length === 0) return '';
  const blocks = history.fits.map((f) => {
    const values = f.hyperparameters
      .map(
        (h) =>
          `${h.name}${h.group === null ? '' : `(${h.group})`} = ${num(h.value, 6).replace(/0+$/, '').replace(/\.$/, '')}`,
      )
      .join(' · ');
    return `<tr><td class="n">${f.index + 1}</td><td>${escapeHtml(f.optimizer)}</td><td class="n">${f.parameters.toLocaleString('en-US')}</td><td class="n">${f.batchSize ?? '–'}</td><td>${escapeHtml(values)}</td></tr>`;
  });
  return `<h2>Hyperparameters at the start of each fit</h2><table><thead><tr><th>fit</th><th>optimizer</th><th>parameters</th><th>batch</th><th>values</th></tr></thead><tbody>${blocks.join('')}</tbody></table>`;
}

/** The whole page: inline SVG and CSS, no script, nothing fetched. */
export function reportHtml(
  history: ReportHistory,
  figures: readonly { chart: Chart; svg: string }[],
): string {
  const updated = history.updated.replace('T', ' ').slice(0, 19);
  const anyMarkers = figures.some((f) => f.chart.markers > 0 && f.chart.kind === 'time');
  const key = anyMarkers
    ? `<div class="key">on the time plots:<i style="color:#8e44ad"></i>phase<i style="color:#138d75"></i>stage<i style="color:#c0392b"></i>stop<i style="color:#7f8c8d"></i>fit start</div>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="@tensorloop/report">
<title>${escapeHtml(history.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(history.title)}</h1><p class="meta">updated ${escapeHtml(updated)} UTC · every number is in history.json beside this file</p></header>
<main>
${cards(history)}
${key}
<section class="figures">
${figures.map((f) => figure(f.chart, f.svg)).join('\n')}
</section>
${fitsTable(history)}
${eventsTable(history)}
${hparamsTable(history)}
</main>
<footer>Made by @tensorloop/report with Vega-Lite; opens without a network.</footer>
</body>
</html>
`;
}
