import { TensorloopError } from '../errors.js';
import { checkMonitorKey } from '../log-keys.js';
import { inferMonitorMode, resolveMonitorMode } from '../monitor-mode.js';
import { checkOptionKeys } from '../option-keys.js';
import { definePlugin, type Plugin } from '../plugin.js';
import { readState } from '../plugin-state.js';
import { isBetter, type MonitorMode, readMonitor } from './monitor.js';
import { removeCheckpoint } from './store.js';

export interface CheckpointOptions {
  /** The folder that holds `last/` and the `best-*` checkpoints. */
  readonly dir: string;
  /** Save every n epochs (default 1 unless `everySteps` is given). */
  readonly everyEpochs?: number;
  /** Save `last/` every n optimizer steps (mid-epoch resume points). */
  readonly everySteps?: number;
  /** A log key to keep the best checkpoints by (`val_loss`, `val_accuracy`, ...). */
  readonly monitor?: string;
  /** `auto`: accuracy-like keys are maximized, others minimized (Keras). */
  readonly mode?: MonitorMode;
  /** How many best checkpoints to keep (default 1 when `monitor` is set). */
  readonly keepBest?: number;
  /** Keep `last/`, overwritten at every save (default true). */
  readonly keepLast?: boolean;
  /** Plugin name; give several instances distinct names. Default `'@tensorloop/core:checkpoint'`. */
  readonly name?: string;
}

export interface BestCheckpoint {
  readonly path: string;
  readonly score: number;
  readonly epoch: number;
  readonly step: number;
}

export interface CheckpointState {
  readonly best: BestCheckpoint[];
  readonly lastPath: string | null;
}

export interface CheckpointApi {
  /** The best checkpoint's directory (by `monitor`), or undefined before the first one. */
  readonly bestPath: string | undefined;
  /** The most recent `last/` checkpoint, or undefined before the first save. */
  readonly lastPath: string | undefined;
  /** Best checkpoints, best first. */
  readonly best: readonly BestCheckpoint[];
}

function positiveInt(name: string, value: number | undefined): number | undefined {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `checkpoint(): ${name} must be an integer ≥ 1; got ${value}.`,
    );
  }
  return value;
}

/** The plugin's name, by the package convention (`'checkpoint'` is its deprecated old name). */
export const CHECKPOINT_PLUGIN = '@tensorloop/core:checkpoint';

declare module '../plugin.js' {
  interface PluginStateMap {
    '@tensorloop/core:checkpoint': CheckpointState;
  }
  interface PluginApiMap {
    '@tensorloop/core:checkpoint': CheckpointApi;
    /** @deprecated The old name of `'@tensorloop/core:checkpoint'`; it stops working in core 0.3. */
    checkpoint: CheckpointApi;
  }
}

const CHECKPOINT_OPTIONS = [
  'dir',
  'everyEpochs',
  'everySteps',
  'monitor',
  'mode',
  'keepBest',
  'keepLast',
  'name',
];

const join = (dir: string, name: string) => `${dir.replace(/[\\/]+$/, '')}/${name}`;

/**
 * Save trainer checkpoints during training: `last/` every n epochs or steps, and the best k by a
 * monitored log key. Runs after other plugins (`enforce: 'post'`) so that the logs and plugin state
 * it saves are those of the finished epoch.
 */
export function checkpoint(options: CheckpointOptions): Plugin<typeof CHECKPOINT_PLUGIN> {
  checkOptionKeys('checkpoint()', options, CHECKPOINT_OPTIONS);
  if (typeof options?.dir !== 'string' || options.dir === '') {
    throw new TensorloopError('TL_OPTION_INVALID', 'checkpoint(): dir must be a non-empty folder path.');
  }
  const everySteps = positiveInt('everySteps', options.everySteps);
  const everyEpochs = positiveInt('everyEpochs', options.everyEpochs) ?? (everySteps ? undefined : 1);
  const keepBest = positiveInt('keepBest', options.keepBest) ?? (options.monitor ? 1 : 0);
  if (keepBest > 0 && !options.monitor) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      'checkpoint(): keepBest needs monitor (the log key to rank checkpoints by).',
    );
  }
  const keepLast = options.keepLast ?? true;
  const name = (options.name ?? CHECKPOINT_PLUGIN) as typeof CHECKPOINT_PLUGIN;
  const monitor = options.monitor;
  let mode = (monitor && inferMonitorMode(monitor, options.mode ?? 'auto')) || 'min';
  let best: BestCheckpoint[] = [];
  let lastPath: string | undefined;

  const api: CheckpointApi = {
    get bestPath() {
      return best[0]?.path;
    },
    get lastPath() {
      return lastPath;
    },
    get best() {
      return best;
    },
  };

  return definePlugin({
    name,
    enforce: 'post',
    api,
    onFitStart(ctx, event) {
      if (monitor) checkMonitorKey(monitor, event.logKeys, name);
      if (monitor) mode = resolveMonitorMode(monitor, options.mode ?? 'auto', name, ctx.metricDirections);
    },
    async onEpochEnd(ctx, event) {
      if (everyEpochs === undefined || (event.fitEpoch + 1) % everyEpochs !== 0 || event.partial) return;
      if (monitor && keepBest > 0) {
        const score = readMonitor(event.logs, monitor, name, ctx.logger);
        const worst = best[best.length - 1];
        if (
          Number.isFinite(score) &&
          (best.length < keepBest || (worst && isBetter(score, worst.score, mode)))
        ) {
          const entry: BestCheckpoint = {
            path: join(options.dir, `best-epoch-${String(event.epoch).padStart(4, '0')}`),
            score,
            epoch: event.epoch,
            step: ctx.time.step,
          };
          const ranked = [...best, entry].sort((a, b) =>
            mode === 'min' ? a.score - b.score : b.score - a.score,
          );
          const dropped = ranked.slice(keepBest);
          best = ranked.slice(0, keepBest);
          await ctx.save(entry.path);
          for (const d of dropped) await removeCheckpoint(d.path);
          ctx.logger.debug(`saved best ${monitor} = ${score} to ${entry.path}`);
        }
      }
      if (keepLast) {
        lastPath = join(options.dir, 'last');
        await ctx.save(lastPath);
      }
    },
    async onBatchEnd(ctx, event) {
      if (!everySteps || !keepLast || !event.stepped || ctx.time.step % everySteps !== 0) return;
      lastPath = join(options.dir, 'last');
      await ctx.save(lastPath);
    },
    state: () => ({ best: best.map((b) => ({ ...b })), lastPath: lastPath ?? null }),
    parseState: (saved) => {
      const s = readState(saved, name);
      return {
        best: s.objects('best', (b) => ({
          path: b.string('path'),
          score: b.number('score'),
          epoch: b.integer('epoch', { min: 0 }),
          step: b.integer('step', { min: 0 }),
        })),
        lastPath: s.string('lastPath', { nullable: true }),
      };
    },
    loadState(state) {
      best = state.best.map((b) => ({ ...b }));
      lastPath = state.lastPath ?? undefined;
    },
  });
}
