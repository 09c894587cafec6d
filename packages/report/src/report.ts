import {
  type LogEntry,
  type Plugin,
  TensorloopError,
  type Time,
  type TrainerContext,
} from '@tensorloop/core';
import { buildCharts } from './charts.js';
import {
  ContractError,
  parseAccuracyMatrix,
  parseLrFinder,
  parseStage,
  parseStepsSkipped,
  parseTransition,
  REPORT_EVENTS,
  type ReportEventName,
} from './contract.js';
import { reportHtml } from './html.js';
import { type ReportOptions, resolveOptions } from './options.js';
import { Recorder, type RecorderState } from './recorder.js';
import { renderSvg } from './render.js';
import { parseReportState } from './state.js';
import type { AccuracyMatrixRecord, HparamValue, ReportHistory } from './types.js';
import { writeFiles } from './write.js';

export const PACKAGE = '@tensorloop/report';
/** Plugins whose public API the report reads when they are registered (by their default names). */
const PLATEAU = '@tensorloop/lr-schedules:plateau';
const LR_FINDER = '@tensorloop/lr-schedules:lr-finder';

export type ReportState = RecorderState;

export interface AccuracyMatrixInput {
  /** Task names: the columns. */
  readonly tasks: readonly string[];
  /** `matrix[i][j]`: the metric on task j after training stage i; null when not evaluated. */
  readonly matrix: readonly (readonly (number | null)[])[];
  /** Row names. Default `after <task i>`. */
  readonly stages?: readonly string[];
  /** Default `'accuracy'`. */
  readonly metric?: string;
}

export interface ReportApi {
  /** Everything recorded, as written to `history.json`. */
  history(): ReportHistory;
  /** The page as a string (works in a browser too). */
  html(): Promise<string>;
  /** Write `report.html` and `history.json` (Node); returns their absolute paths. */
  write(dir?: string): Promise<{ readonly html: string; readonly json: string }>;
  /** An LR range test result (`findLr()`'s), drawn with its suggestions; `chosen` is the lr you used. */
  recordLrFinder(result: unknown, options?: { readonly chosen?: number }): void;
  /** A continual-learning accuracy matrix, drawn as a heatmap. */
  recordAccuracyMatrix(matrix: AccuracyMatrixInput): void;
  /** A boundary or note at the current end of the record (for steps outside a fit). */
  note(
    message: string,
    options?: { readonly kind?: 'phase' | 'stage' | 'note'; readonly label?: string },
  ): void;
}

/** A sentence for a log entry's number formatting in labels. */
const short = (v: number) =>
  Math.abs(v) < 1e-2 || Math.abs(v) >= 1e4 ? v.toExponential(1) : String(Number(v.toPrecision(3)));

function optimizerName(ctx: TrainerContext): string {
  const o = ctx.optimizer as { type?: unknown; getClassName?: () => string; constructor?: { name?: string } };
  if (typeof o.type === 'string') return o.type;
  if (typeof o.getClassName === 'function') return o.getClassName();
  return o.constructor?.name ?? 'optimizer';
}

function pluginApi(ctx: TrainerContext, name: string): unknown {
  return ctx.hasPlugin(name) ? (ctx.plugin as unknown as (n: string) => unknown)(name) : undefined;
}

/**
 * Records a run (history, hyperparameters per step, events) and writes a self-contained
 * `report.html` with plots plus `history.json`.
 */
export function report(
  options: ReportOptions = {},
): Plugin<'@tensorloop/report'> & { readonly api: ReportApi } & ReportApi {
  const o = resolveOptions(options);
  const name = o.name as '@tensorloop/report';
  const rec = new Recorder();
  let tracked: { name: string; group: string | null; scope: { group: string } | undefined }[] = [];
  let unsubscribe: (() => void) | undefined;
  let fitStart = 0;
  let epochStart = 0;
  let skipped = 0;
  /** The trainer's `time.stage` at the last epoch start: a change is a stage boundary even without an event. */
  let lastTimeStage = 0;
  let plateauSeen = 0;
  let plannedBatches: number | undefined;
  let stageRows: { stage: string; values: Map<string, number | null> }[] = [];

  const history = () => rec.history(o.title, plannedBatches);
  const html = async () => {
    const h = history();
    const charts = buildCharts(h, o.maxPoints);
    const figures = [];
    for (const chart of charts) figures.push({ chart, svg: await renderSvg(chart) });
    return reportHtml(h, figures);
  };
  const write = async (dir?: string) => {
    const page = await html();
    return writeFiles(dir ?? o.dir, page, `${JSON.stringify(history(), null, 1)}\n`);
  };

  const warnBadEvent = (ctx: TrainerContext, event: string, error: unknown) => {
    if (!(error instanceof ContractError) && !(error instanceof TensorloopError)) throw error;
    ctx.logger.warn(`ignored a "${event}" event: ${error.message}`);
  };
  const onMessage = (entry: LogEntry) => {
    if (entry.level === 'debug' || entry.source === name) return;
    rec.event('message', entry.time, {
      label: entry.source,
      message: entry.message,
      source: entry.source,
      level: entry.level,
    });
  };
  const recordStage = (
    ctx: TrainerContext,
    stage: number,
    label: string,
    message: string,
    source: string,
  ) => {
    rec.event('stage', ctx.time, { label, message, source, data: { stage } });
  };
  const stageMatrix = (): AccuracyMatrixRecord => {
    const tasks: string[] = [];
    for (const r of stageRows) for (const t of r.values.keys()) if (!tasks.includes(t)) tasks.push(t);
    return {
      tasks,
      rows: stageRows.map((r) => ({ stage: r.stage, values: tasks.map((t) => r.values.get(t) ?? null) })),
      metric: 'accuracy',
    };
  };

  const listeners: Record<ReportEventName, (ctx: TrainerContext, event: unknown) => void> = {
    [REPORT_EVENTS.transition]: (ctx, event) => {
      try {
        const t = parseTransition(event);
        const label = `phase ${t.phase}${t.name ? `: ${t.name}` : ''}`;
        const detail = t.message ?? (t.unfrozen === undefined ? '' : `${t.unfrozen} weights unfrozen`);
        rec.event('phase', ctx.time, {
          label,
          message: detail ? `${label} · ${detail}` : label,
          source: REPORT_EVENTS.transition,
          data: { phase: t.phase, unfrozen: t.unfrozen ?? null },
        });
      } catch (error) {
        warnBadEvent(ctx, REPORT_EVENTS.transition, error);
      }
    },
    [REPORT_EVENTS.stageStart]: (ctx, event) => {
      try {
        const s = parseStage(event);
        const label = `stage ${s.stage}${s.name ? `: ${s.name}` : ''}`;
        recordStage(
          ctx,
          s.stage,
          label,
          s.message ? `${label} · ${s.message}` : label,
          REPORT_EVENTS.stageStart,
        );
      } catch (error) {
        warnBadEvent(ctx, REPORT_EVENTS.stageStart, error);
      }
    },
    [REPORT_EVENTS.stageEnd]: (ctx, event) => {
      try {
        const s = parseStage(event);
        const label = `end of stage ${s.stage}${s.name ? `: ${s.name}` : ''}`;
        rec.event('stage-end', ctx.time, {
          label,
          message: s.message ? `${label} · ${s.message}` : label,
          source: REPORT_EVENTS.stageEnd,
          data: { stage: s.stage },
        });
        if (s.accuracies !== undefined) {
          const values = new Map<string, number | null>();
          if (Array.isArray(s.accuracies))
            s.accuracies.forEach((v, j) => {
              values.set(`task ${j}`, v);
            });
          else for (const [task, v] of Object.entries(s.accuracies)) values.set(task, v as number);
          stageRows.push({ stage: `after ${s.name ?? `stage ${s.stage}`}`, values });
          rec.accuracyMatrix = stageMatrix();
        }
      } catch (error) {
        warnBadEvent(ctx, REPORT_EVENTS.stageEnd, error);
      }
    },
    [REPORT_EVENTS.accuracyMatrix]: (ctx, event) => {
      try {
        rec.accuracyMatrix = parseAccuracyMatrix(event);
        stageRows = [];
      } catch (error) {
        warnBadEvent(ctx, REPORT_EVENTS.accuracyMatrix, error);
      }
    },
    [REPORT_EVENTS.stepsSkipped]: (ctx, event) => {
      try {
        const s = parseStepsSkipped(event);
        if (s.count === 0) return;
        rec.event('skipped', ctx.time, {
          label: `${s.count} steps skipped`,
          message: s.message ?? `${s.count} optimizer step${s.count === 1 ? '' : 's'} skipped`,
          source: REPORT_EVENTS.stepsSkipped,
          data: { count: s.count },
        });
      } catch (error) {
        warnBadEvent(ctx, REPORT_EVENTS.stepsSkipped, error);
      }
    },
  };

  const trackedSeries = (ctx: TrainerContext) => {
    const names =
      o.hparams === 'all'
        ? ctx.hparams.names()
        : o.hparams.filter((n) => ctx.hparams.has(n) || ctx.hparams.groups(n).length > 0);
    const out: typeof tracked = [];
    for (const n of names) {
      const groups = ctx.hparams.groups(n);
      if (groups.length === 0) {
        if (ctx.hparams.has(n)) out.push({ name: n, group: null, scope: undefined });
      } else for (const g of groups) out.push({ name: n, group: g, scope: { group: g } });
    }
    return out;
  };
  const holdValues = (ctx: TrainerContext, time: Time, force: boolean) => {
    for (const t of tracked) {
      rec.hparam(
        t.name,
        t.group,
        time.epoch,
        time.epochBatch,
        time.step,
        ctx.hparams.get(t.name, t.scope),
        force,
      );
    }
  };

  const api: ReportApi = {
    history,
    html,
    write,
    recordLrFinder(result, opts) {
      rec.lrFinder = parseLrFinder(result, opts?.chosen);
    },
    recordAccuracyMatrix(matrix) {
      rec.accuracyMatrix = parseAccuracyMatrix(matrix);
      stageRows = [];
    },
    note(message, opts) {
      const kind = opts?.kind ?? 'note';
      const epoch = rec.nextEpoch;
      rec.events.push({
        kind,
        epoch,
        batch: 0,
        step: rec.lastStep,
        label: opts?.label ?? message,
        message,
        source: 'user',
      });
    },
  };

  const plugin: Plugin<'@tensorloop/report'> & { readonly api: ReportApi } = {
    name,
    api,
    describe: () => [
      o.write === 'fitEnd'
        ? `writes report.html and history.json to ${o.dir} when each fit ends`
        : 'records; write() writes report.html and history.json',
    ],

    onFitStart(ctx, e) {
      rec.align(ctx.time);
      rec.begin();
      fitStart = performance.now();
      plannedBatches = e.stepsPerEpoch;
      tracked = trackedSeries(ctx);
      unsubscribe?.();
      unsubscribe = o.messages ? ctx.logger.subscribe(onMessage) : undefined;
      const index = e.resumed && rec.currentFit() ? rec.currentFit()!.index : rec.fits.length;
      if (!e.resumed || !rec.currentFit()) {
        const hyperparameters: HparamValue[] = [];
        for (const n of ctx.hparams.names()) {
          const groups = ctx.hparams.groups(n);
          if (groups.length === 0) hyperparameters.push({ name: n, group: null, value: ctx.hparams.get(n) });
          for (const g of groups)
            hyperparameters.push({ name: n, group: g, value: ctx.hparams.get(n, { group: g }) });
        }
        rec.fits.push({
          index,
          startEpoch: rec.epochOf(ctx.time),
          epochs: e.epochs,
          stepsPerEpoch: e.stepsPerEpoch ?? null,
          batchSize: e.batchSize ?? null,
          hasValidation: e.hasValidation,
          resumed: e.resumed,
          hyperparameters,
          parameters: ctx.parameters().reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0),
          optimizer: optimizerName(ctx),
          endEpoch: null,
          completed: null,
          stopReason: null,
          error: null,
          seconds: null,
        });
        rec.event('fit', ctx.time, {
          label: `fit ${index + 1}`,
          message: `fit ${index + 1}: ${e.epochs} epochs${e.stepsPerEpoch ? ` × ${e.stepsPerEpoch} steps` : ''}${e.batchSize ? `, batch ${e.batchSize}` : ''}`,
          source: 'trainer',
        });
        // The values the first step uses are recorded by onBatchEnd; these cover a fit with no step.
        holdValues(ctx, { ...ctx.time }, true);
      }
      const pl = pluginApi(ctx, PLATEAU) as { reductions?: () => readonly unknown[] } | undefined;
      plateauSeen = typeof pl?.reductions === 'function' ? pl.reductions().length : 0;
      // A fit resumed mid-epoch continues an epoch whose start was announced before the checkpoint.
      if (e.resumed && ctx.time.epochBatch > 0) rec.startEpoch();
    },

    onEpochStart(ctx) {
      rec.startEpoch();
      epochStart = performance.now();
      skipped = 0;
      if (ctx.time.stage !== lastTimeStage) {
        lastTimeStage = ctx.time.stage;
        const epoch = rec.epochOf(ctx.time);
        if (!rec.events.some((x) => x.kind === 'stage' && x.epoch === epoch))
          recordStage(
            ctx,
            ctx.time.stage,
            `stage ${ctx.time.stage}`,
            `stage ${ctx.time.stage} (time.stage)`,
            'trainer',
          );
      }
    },

    onBatchEnd(ctx, e) {
      // Host values only (the hyperparameter store): nothing here reads the device.
      rec.batchSeen(e.batch);
      if (e.skipped) skipped += 1;
      if (!e.stepped) return;
      const t = ctx.time;
      for (const s of tracked) {
        rec.hparam(s.name, s.group, t.epoch, e.batch, t.step - 1, ctx.hparams.get(s.name, s.scope));
      }
    },

    onEpochEnd(ctx, e) {
      const logs: Record<string, number> = {};
      for (const [k, v] of Object.entries(e.logs)) if (typeof v === 'number') logs[k] = v;
      const pl = pluginApi(ctx, PLATEAU) as { reductions?: () => readonly unknown[] } | undefined;
      const reductions = typeof pl?.reductions === 'function' ? pl.reductions() : [];
      for (const r of reductions.slice(plateauSeen)) {
        const q = r as { group?: unknown; from?: unknown; to?: unknown };
        if (typeof q.from !== 'number' || typeof q.to !== 'number') continue;
        const group = typeof q.group === 'string' ? q.group : null;
        rec.event('plateau', ctx.time, {
          label: `lr ${short(q.from)} → ${short(q.to)}`,
          message: `plateau: lr${group ? ` (group ${group})` : ''} ${short(q.from)} → ${short(q.to)}`,
          source: PLATEAU,
          data: { from: q.from, to: q.to, group },
        });
      }
      plateauSeen = reductions.length;
      if (skipped > 0) {
        rec.event('skipped', ctx.time, {
          label: `${skipped} batches skipped`,
          message: `${skipped} batch${skipped === 1 ? '' : 'es'} skipped by a plugin in this epoch`,
          source: 'trainer',
          data: { count: skipped },
        });
      }
      rec.endEpoch({
        epoch: rec.epochOf(ctx.time),
        trainerEpoch: ctx.time.epoch,
        fit: rec.currentFit()?.index ?? 0,
        stage: ctx.time.stage,
        step: rec.stepOf(ctx.time),
        skippedBatches: skipped,
        seconds: (performance.now() - epochStart) / 1000,
        partial: e.partial,
        logs,
      });
    },

    async onFitEnd(ctx, e) {
      const fit = rec.currentFit();
      // The trainer's history is the truth: keys later plugins added after this one ran are kept.
      for (const h of e.history) {
        const entry = rec.epochs.find((x) => x.fit === fit?.index && x.trainerEpoch === h.epoch);
        if (!entry) continue;
        for (const [k, v] of Object.entries(h.logs)) if (typeof v === 'number') entry.logs[k] = v;
      }
      const end = { ...ctx.time, epochBatch: 0 };
      if (e.stopReason) {
        rec.event('stop', e.stopReason.time, {
          label: 'stop',
          message: `stopped by ${e.stopReason.by}: ${e.stopReason.message}`,
          source: e.stopReason.by,
        });
      }
      if (e.error)
        rec.event('error', ctx.time, {
          label: 'error',
          message: e.error.message,
          source: e.error.plugin ?? 'trainer',
        });
      const finder = pluginApi(ctx, LR_FINDER) as { result?: () => unknown } | undefined;
      if (typeof finder?.result === 'function') {
        try {
          rec.lrFinder = parseLrFinder(finder.result());
        } catch (error) {
          warnBadEvent(ctx, LR_FINDER, error);
        }
      }
      if (ctx.time.step > 0 || rec.lastStep > 0) holdValues(ctx, end, true);
      if (fit) {
        fit.endEpoch = rec.epochOf(ctx.time);
        fit.completed = e.completed;
        fit.stopReason = e.stopReason
          ? { by: e.stopReason.by, message: e.stopReason.message, epoch: rec.epochOf(e.stopReason.time) }
          : null;
        fit.error = e.error ? e.error.message : null;
        fit.seconds = (fit.seconds ?? 0) + (performance.now() - fitStart) / 1000;
      }
      unsubscribe?.();
      unsubscribe = undefined;
      if (o.write === 'fitEnd' && !e.error) await write();
    },

    state: () => rec.state(),
    parseState: (saved) => parseReportState(saved, name),
    loadState(saved) {
      // Core hands over what parseState returned; a direct call gets the same check.
      rec.load(parseReportState(saved, name));
      stageRows = [];
    },
    ...listeners,
  };
  return Object.assign(plugin, api);
}
