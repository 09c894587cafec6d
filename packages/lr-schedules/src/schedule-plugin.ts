import {
  checkOptionKeys,
  describeValue,
  type HyperparamWriteDeclaration,
  type Plugin,
  TensorloopError,
  type TrainerContext,
} from '@tensorloop/core';
import { constant, progress, type Schedule } from './schedules.js';
import {
  currentSpan,
  type Every,
  enterFit,
  fitUnits,
  initialSpanState,
  isSpanState,
  type Over,
  observeBatch,
  type SpanState,
} from './span.js';
import { sampleCurve, summarizeCurve } from './summary.js';

export const PACKAGE = '@tensorloop/lr-schedules';

/** Per-group values for discriminative schedules: a multiplier of `fn`, or a schedule of its own. */
export type GroupSchedules = Readonly<Record<string, number | Schedule>>;

export interface ScheduleOptions {
  /** The value to drive: an optimizer hyperparameter (`lr`, `momentum`, `beta1`, `weightDecay`, ...) or a user value (`lossWeight.aux`). Default `lr`. */
  readonly hparam?: string;
  /** The schedule (or a constant). */
  readonly fn: Schedule | number;
  /** Position counts optimizer steps or epochs. Default `step`. */
  readonly every?: Every;
  /** Param groups to write: names (all get `fn`), or per-group multipliers / schedules. Default: every group. */
  readonly groups?: readonly string[] | GroupSchedules;
  /** `set` owns the value; `multiply` scales whatever else sets it (warmup over a base lr). Default `set`. */
  readonly mode?: 'set' | 'multiply';
  /** The span `p` runs over: the current fit, the current stage, or the whole run. Default `fit`. */
  readonly over?: Over;
  /** Span length in `every` units. Default: the fit's planned length (plus what ran before it, for `stage`/`run`). */
  readonly total?: number;
  /** Plugin name (distinct names for several schedules of one value). Default `@tensorloop/lr-schedules:schedule(<hparam>)`. */
  readonly name?: string;
}

/** One value a schedule plugin drives. */
export interface Track {
  readonly hparam: string;
  readonly mode: 'set' | 'multiply';
  /** What every written group follows unless it has its own. */
  readonly fn: Schedule;
  /** Per-group schedules; when given, only these groups are written. */
  readonly groups: ReadonlyMap<string, Schedule> | undefined;
}

export interface ScheduleApi {
  /** The last value written, per `hparam` and group (`''` for a group-less value). */
  readonly written: () => Readonly<Record<string, Readonly<Record<string, number>>>>;
  /**
   * The planned values at every unit of the span: `total` units (default: the current or last fit's
   * plan). For plots and reports.
   */
  readonly curve: (options?: {
    hparam?: string;
    group?: string;
    total?: number;
  }) => { index: number; value: number }[];
}

export interface SchedulePluginState {
  readonly span: SpanState;
}

export interface DriverOptions {
  readonly name: string;
  readonly label: string;
  readonly every: Every;
  readonly over: Over;
  readonly total: number | undefined;
  readonly declared: readonly HyperparamWriteDeclaration[];
  /** The tracks for this trainer (called at each fit start; may depend on the optimizer). */
  readonly resolve: (ctx: TrainerContext | undefined) => readonly Track[];
}

function invalid(message: string, plugin?: string): never {
  throw new TensorloopError('TL_SCHEDULE_INVALID', message, plugin === undefined ? {} : { plugin });
}

function asSchedule(fn: Schedule | number, what: string): Schedule {
  if (typeof fn === 'number') {
    if (!Number.isFinite(fn)) invalid(`${what} must be a schedule function or a finite number, got ${fn}.`);
    return constant(fn);
  }
  if (typeof fn !== 'function')
    invalid(`${what} must be a schedule function or a number, got ${describeValue(fn)}.`);
  return fn;
}

function scaled(fn: Schedule, factor: number): Schedule {
  const s: Schedule = (p, span) => factor * fn(p, span);
  Object.defineProperty(s, 'name', { value: `${factor}×${fn.name || 'schedule'}` });
  return s;
}

/** Normalizes `groups`: undefined (all groups), or a map group → schedule. */
export function groupSchedules(
  fn: Schedule,
  groups: readonly string[] | GroupSchedules | undefined,
  what: string,
): Map<string, Schedule> | undefined {
  if (groups === undefined) return undefined;
  const map = new Map<string, Schedule>();
  if (Array.isArray(groups)) {
    for (const g of groups) {
      if (typeof g !== 'string' || g === '')
        invalid(
          `${what}: groups must list param group names (non-empty strings); got ${JSON.stringify(g) ?? typeof g}.`,
        );
      map.set(g, fn);
    }
  } else if (typeof groups === 'object' && groups !== null) {
    for (const [g, v] of Object.entries(groups as GroupSchedules)) {
      map.set(g, typeof v === 'number' ? scaled(fn, v) : asSchedule(v, `${what} groups.${g}`));
    }
  } else {
    invalid(`${what}: groups must be a list of names or a record of multipliers/schedules.`);
  }
  if (map.size === 0) invalid(`${what}: groups is empty; omit it to write every group.`);
  return map;
}

/**
 * The plugin behind `schedule()` and `oneCycle()`: writes each track's value at the start of every
 * batch (and of the fit), read from the position in time. Nothing accumulates between calls.
 */
export function scheduleDriver(options: DriverOptions): Plugin {
  const { name, every, over } = options;
  let span: SpanState = initialSpanState();
  const pending = { count: 0 };
  let tracks: readonly Track[] = options.resolve(undefined);
  /** Groups seen per hparam at the last fit start (for describe() and curve()). */
  const seenGroups = new Map<string, string[]>();
  const written: Record<string, Record<string, number>> = {};
  let lastTotal: number | undefined;

  const groupsOf = (ctx: TrainerContext, track: Track): (string | undefined)[] => {
    const available = ctx.hparams.groups(track.hparam);
    if (available.length === 0) return [undefined];
    return track.groups ? [...track.groups.keys()] : available;
  };

  const check = (ctx: TrainerContext): void => {
    for (const track of tracks) {
      if (!ctx.hparams.names().includes(track.hparam)) {
        invalid(
          `${name} schedules '${track.hparam}', which the trainer does not have (known: ${ctx.hparams.names().join(', ')}). ` +
            `Optimizer hyperparameters come from the optimizer; define a user value with new Trainer({ hparams: { '${track.hparam}': 1 } }).`,
          name,
        );
      }
      const available = ctx.hparams.groups(track.hparam);
      if (track.groups && available.length === 0) {
        invalid(`${name}: '${track.hparam}' has no param groups; remove the groups option.`, name);
      }
      for (const g of track.groups?.keys() ?? []) {
        if (!available.includes(g)) {
          invalid(`${name}: param group '${g}' does not exist (groups: ${available.join(', ')}).`, name);
        }
      }
      seenGroups.set(
        track.hparam,
        available.length === 0 ? [''] : track.groups ? [...track.groups.keys()] : available,
      );
    }
  };

  const write = (ctx: TrainerContext): void => {
    const at = currentSpan(ctx.time, ctx.plan, { every, over, total: options.total, owner: name }, span);
    lastTotal = at.total;
    const p = progress(at.index, at.total);
    for (const track of tracks) {
      written[track.hparam] ??= {};
      const byGroup = written[track.hparam]!;
      for (const group of groupsOf(ctx, track)) {
        const fn = (group !== undefined && track.groups?.get(group)) || track.fn;
        const value = fn(p, at);
        if (!Number.isFinite(value)) {
          invalid(
            `${name}: the schedule of '${track.hparam}' gave ${value} at ${every} ${at.index} of ${at.total}.`,
            name,
          );
        }
        const key = group ?? '';
        if (byGroup[key] === value) continue;
        byGroup[key] = value;
        ctx.hparams.set(track.hparam, value, group === undefined ? undefined : { group });
      }
    }
  };

  const unit = every === 'step' ? 'step' : 'epoch';
  const api: ScheduleApi = {
    written: () => structuredClone(written),
    curve: (o = {}) => {
      const track = tracks.find((t) => t.hparam === (o.hparam ?? tracks[0]?.hparam));
      if (!track)
        invalid(
          `${name} does not schedule '${o.hparam}' (it schedules ${tracks.map((t) => t.hparam).join(', ')}).`,
          name,
        );
      const total = o.total ?? lastTotal ?? options.total;
      if (total === undefined)
        invalid(`${name}.curve(): pass total; the plan is not known before the first fit.`, name);
      const fn = (o.group !== undefined && track.groups?.get(o.group)) || track.fn;
      return sampleCurve(fn, total, Number.POSITIVE_INFINITY);
    },
  };

  return {
    name,
    hparams: options.declared,
    api,
    describe() {
      const total = lastTotal ?? options.total;
      const nominal = total ?? (every === 'step' ? 1000 : 10);
      const lines = [
        `${options.label}: per ${unit} over the ${over}, ${total === undefined ? `length unknown until fit() (shown over ${nominal} ${unit}s)` : `${total} ${unit}s`}`,
      ];
      for (const track of tracks) {
        const groups = track.groups ? [...track.groups.keys()] : (seenGroups.get(track.hparam) ?? ['*']);
        for (const g of groups) {
          const fn = (track.groups?.get(g) ?? track.fn) as Schedule;
          const label = g === '' || g === '*' ? track.hparam : `${track.hparam} (group ${g})`;
          lines.push(`${label}, ${track.mode}: ${summarizeCurve(fn, nominal, unit)}`);
        }
      }
      return lines;
    },
    onFitStart(ctx, e) {
      tracks = options.resolve(ctx);
      for (const key of Object.keys(written)) delete written[key];
      pending.count = 0;
      enterFit(span, ctx.time, e.resumed);
      check(ctx);
      if (every === 'step' && ctx.plan?.stepsPerEpoch !== undefined)
        lastTotal = fitUnits(ctx.plan, every, span);
      write(ctx);
    },
    onBatchStart: {
      order: 'pre',
      handler(ctx) {
        write(ctx);
      },
    },
    onBatchEnd(_ctx, e) {
      if (every === 'step' && span.microBatchesPerStep === null)
        observeBatch(span, pending, e.skipped, e.stepped);
    },
    state: () => ({ span: { ...span } }),
    loadState(saved) {
      const s = saved as { span?: unknown } | null;
      if (s === null || typeof s !== 'object' || !isSpanState(s.span)) {
        throw new TensorloopError(
          'TL_CHECKPOINT_INVALID',
          `${name}: saved state is not { span } as state() returns.`,
          {
            plugin: name,
          },
        );
      }
      span = { ...s.span };
    },
  };
}

/**
 * Drive any hyperparameter by a schedule: `lr`, `momentum`, `beta1`, `weightDecay`, or a user value
 * such as `lossWeight.aux`, for all or some param groups. The value at a step is a pure function
 * of time, written before every batch.
 */
export function schedule(options: ScheduleOptions): Plugin {
  if (options === null || typeof options !== 'object')
    invalid('schedule({ fn, ... }) needs an options object.');
  checkOptionKeys('schedule()', options, [
    'hparam',
    'fn',
    'every',
    'groups',
    'mode',
    'over',
    'total',
    'name',
  ]);
  const hparam = options.hparam ?? 'lr';
  if (typeof hparam !== 'string' || hparam === '')
    invalid('schedule({ hparam }) must be a non-empty string.');
  const mode = options.mode ?? 'set';
  if (mode !== 'set' && mode !== 'multiply')
    invalid(`schedule({ mode }) must be 'set' or 'multiply', got ${describeValue(mode)}.`);
  const every = options.every ?? 'step';
  if (every !== 'step' && every !== 'epoch')
    invalid(`schedule({ every }) must be 'step' or 'epoch', got ${describeValue(every)}.`);
  const over = options.over ?? 'fit';
  if (over !== 'fit' && over !== 'stage' && over !== 'run') {
    invalid(`schedule({ over }) must be 'fit', 'stage' or 'run', got ${describeValue(over)}.`);
  }
  if (options.total !== undefined && !(Number.isFinite(options.total) && options.total > 0)) {
    invalid(`schedule({ total }) must be a positive number, got ${describeValue(options.total)}.`);
  }
  const name = options.name ?? `${PACKAGE}:schedule(${hparam})`;
  const fn = asSchedule(options.fn, 'schedule({ fn })');
  const groups = groupSchedules(fn, options.groups, 'schedule()');
  const track: Track = { hparam, mode, fn, groups };
  return scheduleDriver({
    name,
    label: `${mode === 'set' ? 'sets' : 'multiplies'} ${hparam} by ${fn.name || 'a schedule'}`,
    every,
    over,
    total: options.total,
    declared: [{ name: hparam, mode, ...(groups ? { groups: [...groups.keys()] } : {}) }],
    resolve: () => [track],
  });
}
