import type { LogEntry, Logs, Plugin, TrainerContext } from '@tensorloop/core';
import { ANNOUNCED_EVENTS, type AnnouncedEvent, announce } from './events.js';
import { formatDuration, formatLogs, type LiveState, shortSource, summaryLine } from './format.js';
import { type ProgressOptions, type ProgressStream, resolveOptions } from './options.js';
import { type CliProgressModule, PlainRenderer, type Renderer, TerminalRenderer } from './renderer.js';
import { SampledSmoothing } from './smoothing.js';

export const PACKAGE = '@tensorloop/progress';

/** What differs between the Node and the browser build. */
export interface ProgressEnvironment {
  readonly defaultStream: () => ProgressStream;
  /** Loads cli-progress; absent in the browser build (plain lines only). */
  readonly loadCli?: () => Promise<CliProgressModule>;
}

export interface ProgressApi {
  /** True while a bar is drawn on a terminal (false in plain mode, when silent, between fits). */
  readonly drawing: () => boolean;
  /** How many times the plugin read a batch loss from the device in the current (or last) fit. */
  readonly reads: () => number;
}

interface FitInfo {
  readonly start: number;
  readonly epochs: number;
  epochsDone: number;
  epochMsTotal: number;
}

interface EpochInfo {
  readonly start: number;
  readonly startSample: number;
  readonly fitEpoch: number;
  trainEnd: number | undefined;
  phase: 'train' | 'validate';
}

const now = () => performance.now();

/** The plugin factory, given its environment (see `index.ts` and `browser.ts`). */
export function createProgress(
  env: ProgressEnvironment,
  options: ProgressOptions = {},
): Plugin<'@tensorloop/progress'> & { readonly api: ProgressApi } {
  const o = resolveOptions(options);
  const name = o.name as '@tensorloop/progress';
  let reads = 0;
  let renderer: Renderer | undefined;
  const api: ProgressApi = {
    drawing: () => renderer instanceof TerminalRenderer,
    reads: () => reads,
  };
  if (o.silent) return { name, api, describe: () => ['silent: prints nothing, reads nothing'] };

  let cli: CliProgressModule | undefined;
  let fit: FitInfo | undefined;
  let epoch: EpochInfo | undefined;
  let lastReadBatch = 0;
  let lastLoss: number | undefined;
  let pending: string[] = [];
  let unsubscribe: (() => void) | undefined;
  const smooth = new SampledSmoothing(o.smoothing);

  const stream = () => o.stream ?? env.defaultStream();
  const wantsTerminal = (s: ProgressStream) => (o.tty === 'auto' ? s.isTTY === true : o.tty);

  const makeRenderer = async (): Promise<Renderer> => {
    const s = stream();
    if (wantsTerminal(s) && env.loadCli) {
      cli ??= await env.loadCli();
      return new TerminalRenderer(cli, s, o.refreshMs, o.barWidth);
    }
    return new PlainRenderer(s, o.plainEveryMs);
  };
  /** Lines wait while an epoch runs, so they come after its summary, never inside the bar. */
  const say = (line: string) => {
    if (epoch) pending.push(line);
    else (renderer ?? new PlainRenderer(stream(), o.plainEveryMs)).line(line);
  };
  const flush = () => {
    const lines = pending;
    pending = [];
    for (const line of lines) renderer?.line(line);
  };
  const onMessage = (entry: LogEntry) => {
    if (entry.level === 'debug' || entry.source === name) return;
    if (o.messages === 'warn' && entry.level !== 'warn') return;
    say(`  ${shortSource(entry.source)}${entry.level === 'warn' ? ' (warning)' : ''}: ${entry.message}`);
  };

  const live = (ctx: TrainerContext, t: number): LiveState => {
    const e = epoch!;
    const plan = ctx.plan;
    const steps = ctx.time.epochBatch + (e.phase === 'validate' ? 0 : 1);
    const totalSteps = plan?.stepsPerEpoch;
    const trainMs = (e.trainEnd ?? t) - e.start;
    const perStep = steps > 0 ? trainMs / steps : undefined;
    const etaMs =
      perStep !== undefined && totalSteps !== undefined
        ? Math.max(0, totalSteps - steps) * perStep
        : undefined;
    const epochsLeft = fit ? fit.epochs - e.fitEpoch - 1 : 0;
    const meanEpochMs =
      fit && fit.epochsDone > 0
        ? fit.epochMsTotal / fit.epochsDone
        : perStep !== undefined && totalSteps !== undefined
          ? perStep * totalSteps
          : undefined;
    return {
      epoch: e.fitEpoch,
      epochs: fit?.epochs,
      steps: e.phase === 'validate' ? (totalSteps ?? steps) : steps,
      totalSteps,
      samplesPerSecond: trainMs > 0 ? ((ctx.time.sample - e.startSample) * 1000) / trainMs : 0,
      etaMs,
      fitEtaMs:
        etaMs !== undefined && meanEpochMs !== undefined ? etaMs + epochsLeft * meanEpochMs : undefined,
      loss: smooth.value ?? lastLoss,
      phase: e.phase,
    };
  };

  const hparamsOf = (ctx: TrainerContext) => {
    const out: { label: string; value: number }[] = [];
    for (const h of o.hparams) {
      const groups = ctx.hparams.groups(h);
      if (groups.length === 0) {
        if (ctx.hparams.has(h)) out.push({ label: h, value: ctx.hparams.get(h) });
      } else if (groups.length === 1) {
        out.push({ label: h, value: ctx.hparams.get(h, { group: groups[0]! }) });
      } else {
        for (const g of groups) out.push({ label: `${h}(${g})`, value: ctx.hparams.get(h, { group: g }) });
      }
    }
    return out;
  };

  const listeners = Object.fromEntries(
    ANNOUNCED_EVENTS.map((event) => [
      event,
      (_ctx: TrainerContext, e: unknown) => {
        const line = announce(event as AnnouncedEvent, e);
        if (line) say(line);
      },
    ]),
  ) as Record<AnnouncedEvent, (ctx: TrainerContext, event: unknown) => void>;

  const plugin: Plugin<'@tensorloop/progress'> & { readonly api: ProgressApi } = {
    name,
    api,
    printsEpochSummary: true, // its summary line replaces core's epoch line
    describe: () => [
      `${o.tty === false ? 'plain lines' : o.tty === true ? 'a bar' : 'a bar on a terminal, else plain lines'}; reads the batch loss at most every ${o.refreshMs} ms${o.tty === true ? '' : ` (plain lines: every ${o.plainEveryMs} ms)`}`,
    ],

    async onFitStart(ctx, e) {
      renderer?.close();
      renderer = await makeRenderer();
      unsubscribe?.();
      unsubscribe = o.messages === false ? undefined : ctx.logger.subscribe(onMessage);
      fit = { start: now(), epochs: e.epochs, epochsDone: 0, epochMsTotal: 0 };
      epoch = undefined;
      pending = [];
      reads = 0;
      smooth.reset();
      lastLoss = undefined;
      lastReadBatch = ctx.time.batch;
      const parts = [
        `fit ${e.fitIndex + 1}`,
        `${e.epochs} epoch${e.epochs === 1 ? '' : 's'}${e.stepsPerEpoch === undefined ? '' : ` × ${e.stepsPerEpoch} steps`}`,
      ];
      if (e.batchSize !== undefined) parts.push(`batch ${e.batchSize}`);
      if (e.hasValidation) parts.push('validation each epoch');
      if (e.resumed) parts.push(`resumed at epoch ${ctx.time.fitEpoch + 1}`);
      renderer.line(parts.join(' · '));
    },

    // After the other plugins' epoch start, so a phase or stage they announce comes before the bar.
    onEpochStart: {
      order: 'post',
      handler(ctx, e) {
        const t = now();
        epoch = {
          start: t,
          startSample: ctx.time.sample,
          fitEpoch: e.fitEpoch,
          trainEnd: undefined,
          phase: 'train',
        };
        renderer?.startEpoch(live(ctx, t), t);
      },
    },

    async onBatchEnd(ctx, e) {
      // The only per-batch work: one clock read and a comparison. The device is read only when the
      // renderer will show the value (every refreshMs on a terminal, every plainEveryMs otherwise).
      const t = now();
      if (!epoch || !renderer?.due(t)) return;
      if (!e.skipped) {
        const loss = e.loss;
        if (loss) {
          const value = (await loss.data())[0]!;
          reads += 1;
          lastLoss = value;
          smooth.add(value, ctx.time.batch - lastReadBatch);
          lastReadBatch = ctx.time.batch;
        }
      }
      renderer.live(live(ctx, t), t);
    },

    onValidationStart(ctx) {
      if (!epoch) return;
      const t = now();
      epoch.trainEnd = t;
      epoch.phase = 'validate';
      renderer?.status(live(ctx, t), t);
    },

    // After every other plugin: the logs are final (metrics added by plugins included).
    onEpochEnd: {
      order: 'post',
      handler(ctx, e) {
        if (!epoch) return;
        const t = now();
        const trainMs = (epoch.trainEnd ?? t) - epoch.start;
        renderer?.endEpoch();
        renderer?.line(
          summaryLine({
            epoch: epoch.fitEpoch,
            epochs: fit?.epochs,
            ms: t - epoch.start,
            samplesPerSecond: trainMs > 0 ? ((ctx.time.sample - epoch.startSample) * 1000) / trainMs : 0,
            logs: e.logs,
            hparams: hparamsOf(ctx),
            partial: e.partial,
          }),
        );
        if (fit) {
          fit.epochsDone += 1;
          fit.epochMsTotal += t - epoch.start;
        }
        epoch = undefined;
        flush();
      },
    },

    onEvaluateEnd(_ctx, e) {
      const logs: Logs = e.logs;
      say(`evaluate · ${formatLogs(logs)}`);
    },

    // After the other plugins' onFitEnd (restore-best says what it restored first).
    onFitEnd: {
      order: 'post',
      handler(ctx, e) {
        renderer?.endEpoch();
        epoch = undefined;
        flush();
        const took = fit ? formatDuration(now() - fit.start) : '?';
        const done = `${ctx.time.fitEpoch} of ${fit?.epochs ?? '?'} epochs`;
        let line: string;
        if (e.error) line = `fit failed after ${done} (${took}): ${e.error.message}`;
        else if (e.stopReason)
          line = `stopped after ${done} by ${shortSource(e.stopReason.by)}: ${e.stopReason.message} (${took})`;
        else line = `done: ${done} in ${took}`;
        renderer?.line(line);
        unsubscribe?.();
        unsubscribe = undefined;
        renderer?.close();
        renderer = undefined;
        fit = undefined;
      },
    },
    ...listeners,
  };
  return plugin;
}
