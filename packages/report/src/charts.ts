import {
  continualSummary,
  downsample,
  familyRows,
  hparamCharts,
  logFamilies,
  type Marker,
  markers,
  type Row,
  timeEnd,
} from './series.js';
import type { ReportHistory } from './types.js';

/** A Vega-Lite specification as plain JSON (compiled to Vega, rendered to SVG in `render.ts`). */
export type VegaLiteSpec = Record<string, unknown>;

/** One figure of the report: its spec and what it must show (written on the figure for tests). */
export interface Chart {
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  readonly kind: 'time' | 'heatmap' | 'lr-finder';
  readonly spec: VegaLiteSpec;
  /** Series names in legend order. */
  readonly series: readonly string[];
  /** Points drawn per series (same order). */
  readonly points: readonly number[];
  /** Boundary and stop markers drawn. */
  readonly markers: number;
  /** How lines are drawn: `linear` (one segment per point). */
  readonly interpolate: 'linear' | 'none';
}

export const PALETTE = [
  '#4c78a8',
  '#f58518',
  '#54a24b',
  '#e45756',
  '#72b7b2',
  '#b279a2',
  '#ff9da6',
  '#9d755d',
];
const MARKER_COLORS: Record<Marker['kind'], string> = {
  phase: '#8e44ad',
  stage: '#138d75',
  stop: '#c0392b',
  fit: '#7f8c8d',
};
const WIDTH = 430;
const HEIGHT = 190;

export const CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif',
  background: 'white',
  padding: 6,
  view: { stroke: null },
  axis: {
    gridColor: '#ececec',
    domainColor: '#888',
    tickColor: '#888',
    labelColor: '#444',
    titleColor: '#333',
    titleFontWeight: 500,
    labelFontSize: 10,
    titleFontSize: 11,
  },
  legend: {
    orient: 'top',
    direction: 'horizontal',
    title: null,
    labelFontSize: 11,
    symbolSize: 80,
    offset: 4,
  },
  title: { anchor: 'start', fontSize: 13, fontWeight: 600, color: '#222', subtitleColor: '#666', offset: 6 },
  range: { category: PALETTE },
};

/** Rules and labels at the boundaries, below the data; independent colors so no legend mixes in. */
function markerLayers(list: readonly Marker[]): VegaLiteSpec[] {
  if (list.length === 0) return [];
  const values = list.map((m) => ({ ...m, color: MARKER_COLORS[m.kind] }));
  // stroke/fill channels (not color): their scales stay apart from the series' colors and legend.
  return [
    {
      data: { values },
      mark: { type: 'rule', strokeDash: [5, 3], strokeWidth: 1.2 },
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        stroke: { field: 'color', type: 'nominal', scale: null, legend: null },
        description: { field: 'label' },
      },
    },
    {
      data: { values },
      mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 2, fontSize: 9.5, aria: false },
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        y: { value: 0 },
        text: { field: 'label' },
        fill: { field: 'color', type: 'nominal', scale: null, legend: null },
      },
    },
  ];
}

function logScaleFor(values: readonly number[]): boolean {
  const positive = values.filter((v) => v > 0);
  if (positive.length !== values.length || positive.length === 0) return false;
  return Math.max(...positive) / Math.min(...positive) > 300;
}

function timeChart(options: {
  id: string;
  title: string;
  caption: string;
  yTitle: string;
  rows: readonly Row[];
  seriesOrder: readonly string[];
  marks: readonly Marker[];
  end: number;
  points: boolean;
  interpolate: 'linear';
  logY?: boolean;
  extra?: VegaLiteSpec[];
}): Chart {
  const { rows, seriesOrder } = options;
  const data: VegaLiteSpec = {
    data: { values: rows },
    mark: {
      type: 'line',
      interpolate: options.interpolate,
      strokeWidth: 2,
      ...(options.points ? { point: { size: 28, filled: true } } : {}),
    },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: 'epoch',
        scale: { domain: [0, Math.max(options.end, 1)], nice: false },
        axis: { tickMinStep: 1 },
      },
      y: {
        field: 'value',
        type: 'quantitative',
        title: options.yTitle,
        scale: { zero: false, ...(options.logY ? { type: 'log' } : {}) },
        axis: { format: options.logY ? '.0e' : '~g' },
      },
      color: { field: 'series', type: 'nominal', sort: [...seriesOrder] },
    },
  };
  return {
    id: options.id,
    title: options.title,
    caption: options.caption,
    kind: 'time',
    spec: {
      width: WIDTH,
      height: HEIGHT,
      title: options.title,
      layer: [...markerLayers(options.marks), data, ...(options.extra ?? [])],
    },
    series: seriesOrder,
    points: seriesOrder.map((s) => rows.filter((r) => r.series === s).length),
    markers: options.marks.length,
    interpolate: options.interpolate,
  };
}

const TITLES: Record<string, string> = {
  loss: 'Loss',
  accuracy: 'Accuracy',
  lr: 'Learning rate',
  beta1: 'Momentum (Adam β1)',
  momentum: 'Momentum',
  alpha: 'RMSprop α',
  weightDecay: 'Weight decay',
};

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** Every figure of the report, in page order. `maxPoints` caps the points of a hyperparameter line. */
export function buildCharts(history: ReportHistory, maxPoints: number): Chart[] {
  const charts: Chart[] = [];
  const end = timeEnd(history);
  const marks = markers(history);
  for (const [family, keys] of logFamilies(history)) {
    const rows = familyRows(history, keys);
    if (rows.length === 0) continue;
    charts.push(
      timeChart({
        id: `metric-${slug(family)}`,
        title: TITLES[family] ?? family,
        caption: `${keys.join(' and ')} at the end of each epoch`,
        yTitle: family,
        rows,
        seriesOrder: keys,
        marks,
        end,
        points: true,
        interpolate: 'linear',
      }),
    );
  }
  const plateaus = history.events.filter((e) => e.kind === 'plateau' && typeof e.data?.to === 'number');
  for (const chart of hparamCharts(history, end)) {
    const rows: Row[] = [];
    for (const s of chart.series) {
      for (const p of downsample(s.points, maxPoints)) rows.push({ x: p.x, value: p.value, series: s.label });
    }
    const extra: VegaLiteSpec[] =
      chart.name === 'lr' && plateaus.length > 0
        ? [
            {
              data: { values: plateaus.map((e) => ({ x: e.x, value: e.data!.to, label: e.label })) },
              mark: {
                type: 'point',
                shape: 'triangle-down',
                size: 70,
                filled: true,
                color: MARKER_COLORS.stop,
              },
              encoding: {
                x: { field: 'x', type: 'quantitative' },
                y: { field: 'value', type: 'quantitative' },
                description: { field: 'label' },
              },
            },
          ]
        : [];
    charts.push(
      timeChart({
        id: `hparam-${slug(chart.name)}`,
        title: TITLES[chart.name] ?? chart.name,
        caption: `${chart.name} per param group at every optimizer step${plateaus.length && chart.name === 'lr' ? '; ▼ plateau reductions' : ''}`,
        yTitle: chart.name,
        rows,
        seriesOrder: chart.series.map((s) => s.label),
        marks,
        end,
        points: false,
        interpolate: 'linear',
        logY: logScaleFor(chart.series.map((s) => Math.max(...s.points.map((p) => p.value)))),
        extra,
      }),
    );
  }
  if (history.accuracyMatrix) charts.push(accuracyMatrixChart(history.accuracyMatrix));
  if (history.lrFinder && history.lrFinder.curve.length > 1)
    charts.push(lrFinderChart(history.lrFinder, maxPoints));
  return charts;
}

function accuracyMatrixChart(matrix: NonNullable<ReportHistory['accuracyMatrix']>): Chart {
  const cells: { task: string; stage: string; value: number }[] = [];
  matrix.rows.forEach((row) => {
    row.values.forEach((value, j) => {
      if (value !== null) cells.push({ task: matrix.tasks[j]!, stage: row.stage, value });
    });
  });
  const summary = continualSummary(matrix);
  const cell = Math.max(34, Math.min(64, Math.floor(360 / Math.max(matrix.tasks.length, 1))));
  const subtitle = summary
    ? `average ${matrix.metric} ${summary.average.toFixed(3)}${summary.bwt === undefined ? '' : ` · backward transfer ${summary.bwt >= 0 ? '+' : ''}${summary.bwt.toFixed(3)}`}`
    : undefined;
  return {
    id: 'accuracy-matrix',
    title: `${matrix.metric[0]!.toUpperCase()}${matrix.metric.slice(1)} matrix`,
    caption: `${matrix.metric} on each task (columns) after each training stage (rows)`,
    kind: 'heatmap',
    spec: {
      title: {
        text: `${matrix.metric[0]!.toUpperCase()}${matrix.metric.slice(1)} matrix`,
        ...(subtitle ? { subtitle } : {}),
      },
      width: cell * matrix.tasks.length,
      height: cell * matrix.rows.length,
      data: { values: cells },
      encoding: {
        x: {
          field: 'task',
          type: 'ordinal',
          sort: [...matrix.tasks],
          title: 'evaluated on',
          axis: { orient: 'top', labelAngle: 0, domain: false, ticks: false },
        },
        y: {
          field: 'stage',
          type: 'ordinal',
          sort: matrix.rows.map((r) => r.stage),
          title: 'after training',
          axis: { domain: false, ticks: false },
        },
      },
      layer: [
        {
          mark: { type: 'rect', stroke: 'white', strokeWidth: 2 },
          encoding: {
            color: {
              field: 'value',
              type: 'quantitative',
              title: matrix.metric,
              scale: { domain: [0, 1], scheme: 'blues' },
              legend: {
                orient: 'right',
                direction: 'vertical',
                gradientLength: Math.max(60, cell * matrix.rows.length - 20),
              },
            },
          },
        },
        {
          mark: { type: 'text', fontSize: 11 },
          encoding: {
            text: { field: 'value', type: 'quantitative', format: '.2f' },
            color: { condition: { test: 'datum.value > 0.55', value: 'white' }, value: '#222' },
          },
        },
      ],
    },
    series: matrix.tasks,
    points: [cells.length],
    markers: 0,
    interpolate: 'none',
  };
}

function lrFinderChart(finder: NonNullable<ReportHistory['lrFinder']>, maxPoints: number): Chart {
  const smoothed = finder.curve
    .filter((p) => Number.isFinite(p.loss))
    .map((p) => ({ x: p.lr, value: p.loss, series: 'smoothed loss' }));
  const raw = finder.curve
    .filter((p) => p.raw !== null && Number.isFinite(p.raw))
    .map((p) => ({ x: p.lr, value: p.raw as number, series: 'batch loss' }));
  const sm = downsample(smoothed, maxPoints);
  const rw = downsample(raw, maxPoints);
  const losses = sm.map((p) => p.value);
  const lo = Math.min(...losses);
  // Up to the lowest point, and not much above where the sweep started: the divergence at the end
  // leaves the frame upwards (clipped) instead of flattening the part that matters.
  const bestAt = losses.indexOf(lo);
  const hi = Math.max(...losses.slice(0, bestAt + 1));
  const pad = (hi - lo) * 0.12 || 0.1;
  const domain = [lo - pad, hi + pad];
  const atSuggestion = (lr: number) => {
    let best = sm[0]!;
    for (const p of sm) if (Math.abs(Math.log(p.x / lr)) < Math.abs(Math.log(best.x / lr))) best = p;
    return best.value;
  };
  const suggestions = finder.suggestions.map((s) => ({
    x: s.lr,
    // On the drawn curve (fastai's plot): `minimum` is the lowest loss's lr ÷ 10, not a point of it.
    value: atSuggestion(s.lr),
    label: `${s.name} ${s.lr.toExponential(1)}`,
  }));
  const lrs = finder.curve.map((p) => p.lr);
  const decades: number[] = [];
  for (
    let d = Math.ceil(Math.log10(Math.min(...lrs)) - 1e-9);
    d <= Math.floor(Math.log10(Math.max(...lrs)) + 1e-9);
    d++
  )
    decades.push(10 ** d);
  const x = {
    field: 'x',
    type: 'quantitative',
    title: 'learning rate (log scale)',
    scale: { type: 'log' },
    axis: { format: '.0e', values: decades },
  };
  const y = { field: 'value', type: 'quantitative', title: 'loss', scale: { domain, nice: false } };
  const color = {
    field: 'series',
    type: 'nominal',
    scale: { domain: ['batch loss', 'smoothed loss'], range: ['#c4c4c4', PALETTE[0]] },
  };
  const layer: VegaLiteSpec[] = [
    ...(rw.length
      ? [
          {
            data: { values: rw },
            mark: { type: 'line', clip: true, strokeWidth: 1 },
            encoding: { x, y, color },
          },
        ]
      : []),
    { data: { values: sm }, mark: { type: 'line', clip: true, strokeWidth: 2.2 }, encoding: { x, y, color } },
    {
      data: { values: suggestions },
      mark: { type: 'point', filled: true, size: 90, shape: 'diamond', stroke: 'white', strokeWidth: 0.8 },
      encoding: {
        x,
        y,
        fill: {
          field: 'label',
          type: 'nominal',
          sort: suggestions.map((s) => s.label),
          scale: { range: ['#e45756', '#f58518', '#54a24b', '#b279a2'] },
          legend: {
            orient: 'right',
            direction: 'vertical',
            title: 'suggestions',
            titleFontSize: 10,
            symbolType: 'diamond',
          },
        },
        description: { field: 'label' },
      },
    },
  ];
  if (finder.chosen !== null) {
    layer.push({
      data: { values: [{ x: finder.chosen, label: `chosen ${finder.chosen.toExponential(1)}` }] },
      mark: { type: 'rule', strokeDash: [5, 3], color: MARKER_COLORS.stop },
      encoding: { x: { field: 'x', type: 'quantitative' }, description: { field: 'label' } },
    });
  }
  return {
    id: 'lr-finder',
    title: 'LR range test',
    caption: `loss against a learning rate growing each step${finder.stoppedBy ? ` (stopped: ${finder.stoppedBy})` : ''}; ◆ suggestions${finder.chosen !== null ? '; dashed: the lr used' : ''}`,
    kind: 'lr-finder',
    spec: { width: WIDTH - 110, height: HEIGHT, title: 'LR range test', layer },
    series: ['batch loss', 'smoothed loss'].filter((s) => (s === 'batch loss' ? rw.length > 0 : true)),
    points: [...(rw.length > 0 ? [rw.length] : []), sm.length],
    markers: finder.suggestions.length,
    interpolate: 'linear',
  };
}
