import { checkOptionKeys, describeValue, TensorloopError } from '@tensorloop/core';

/**
 * Where a schedule is read: `index` units (optimizer steps or epochs) into a span of `total` units.
 * `index` may be fractional inside `combine` and `warmup`, and may pass `total` when a run goes on
 * after the span it was planned for.
 */
export interface Span {
  readonly index: number;
  readonly total: number;
}

/**
 * A schedule: the value at progress `p = index / total` (clamped to [0, 1]) of its span. Most
 * schedules read only `p` (fastai style); counting ones (`step`, `multiStep`, `cyclic`, ...) read
 * `span.index` (PyTorch style). A plain `(p) => 1 - p` is a schedule too. Pure: same input, same value.
 */
export type Schedule = (p: number, span: Span) => number;

/**
 * The value of `schedule` at `index` of `total` units. A value that is not a finite number (an
 * overflow of `gamma^index`, a user function returning NaN) fails here, naming the schedule and the
 * unit, rather than becoming a NaN learning rate.
 */
export function valueAt(schedule: Schedule, index: number, total: number): number {
  const value = schedule(progress(index, total), { index, total });
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    invalid(
      `the schedule ${schedule.name || '(anonymous)'} gives ${typeof value === 'number' ? value : typeof value} at unit ${index} of ${total}; ` +
        'a schedule must give finite numbers over its span. Check its options (a gamma or power that overflows) or the function.',
    );
  }
  return value;
}

/** `index / total`, clamped to [0, 1] (0 for an empty span). */
export function progress(index: number, total: number): number {
  if (!(total > 0)) return 0;
  return Math.min(1, Math.max(0, index / total));
}

function invalid(message: string): never {
  throw new TensorloopError('TL_SCHEDULE_INVALID', message);
}

function finite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    invalid(`${what} must be a finite number, got ${describeValue(value)}.`);
  return value;
}

function positive(value: unknown, what: string): number {
  const v = finite(value, what);
  if (v <= 0) invalid(`${what} must be > 0, got ${v}.`);
  return v;
}

/** Named so `describe()` and error messages can say which schedule it is. */
function named(schedule: Schedule, name: string): Schedule {
  Object.defineProperty(schedule, 'name', { value: name });
  return schedule;
}

export interface FromTo {
  /** Value at the start of the span (p = 0). */
  readonly from: number;
  /** Value at the end of the span (p = 1). */
  readonly to: number;
}

/** The same value throughout. Use it as a per-group placeholder or to pin a value while others move. */
export function constant(value: number): Schedule {
  const v = finite(value, 'constant(value)');
  return named(() => v, `constant(${v})`);
}

/**
 * Straight line from `from` to `to` (fastai `SchedLin`; PyTorch `LinearLR` with
 * `from = base·start_factor`, `to = base·end_factor`). Use for warmups and loss-weight ramps.
 */
export function linear(options: FromTo): Schedule {
  checkOptionKeys('linear()', options, ['from', 'to']);
  const from = finite(options?.from, 'linear({ from })');
  const to = finite(options?.to, 'linear({ to })');
  return named((p) => from + p * (to - from), 'linear');
}

/**
 * Half a cosine from `from` to `to` (fastai `SchedCos`; PyTorch `CosineAnnealingLR` with
 * `T_max` = the span, `eta_min = to`). The default choice for decaying a learning rate.
 */
export function cosine(options: FromTo): Schedule {
  checkOptionKeys('cosine()', options, ['from', 'to']);
  const from = finite(options?.from, 'cosine({ from })');
  const to = finite(options?.to, 'cosine({ to })');
  return named((p) => from + ((1 + Math.cos(Math.PI * (1 - p))) * (to - from)) / 2, 'cosine');
}

export type ExponentialOptions =
  | FromTo
  | {
      readonly from: number;
      /** Factor per `every` units (PyTorch `ExponentialLR.gamma`, Keras `decay_rate`). */
      readonly gamma: number;
      /** Units per factor of `gamma` (Keras `decay_steps`). Default 1. */
      readonly every?: number;
      /** Apply `gamma` in whole steps of `every` units (Keras `staircase`). Default false. */
      readonly staircase?: boolean;
    };

/**
 * Geometric decay. `{ from, to }`: `from·(to/from)^p` (fastai `SchedExp`; the LR finder's sweep).
 * `{ from, gamma, every }`: `from·gamma^(index/every)` (PyTorch `ExponentialLR`, Keras
 * `ExponentialDecay`). Use when the value should shrink by a constant ratio.
 */
export function exponential(options: ExponentialOptions): Schedule {
  const fromTo = typeof options === 'object' && options !== null && 'to' in options;
  checkOptionKeys(
    'exponential()',
    options,
    fromTo ? ['from', 'to'] : ['from', 'gamma', 'every', 'staircase'],
  );
  const from = finite(options?.from, 'exponential({ from })');
  if ('to' in options) {
    const to = finite(options.to, 'exponential({ to })');
    if (from <= 0 || to <= 0)
      invalid(`exponential({ from, to }) needs positive values, got ${from} and ${to}.`);
    return named((p) => from * (to / from) ** p, 'exponential');
  }
  const gamma = positive(options.gamma, 'exponential({ gamma })');
  const every = positive(options.every ?? 1, 'exponential({ every })');
  const staircase = options.staircase ?? false;
  return named((_p, { index }) => {
    const t = index / every;
    return from * gamma ** (staircase ? Math.floor(t) : t);
  }, 'exponential');
}

export interface PolynomialOptions {
  readonly from: number;
  /** Value reached at the end. Default 0. */
  readonly to?: number;
  /** Default 1 (linear). */
  readonly power?: number;
  /** Units until `to` is reached (Keras `decay_steps`, PyTorch `total_iters`). Default: the span. */
  readonly steps?: number;
}

/**
 * `(from − to)·(1 − t/steps)^power + to`, held at `to` afterwards (Keras `PolynomialDecay`, PyTorch
 * `PolynomialLR` with `to = 0`). Note: fastai's `SchedPoly` is `from + (to−from)·p^power` instead.
 */
export function polynomial(options: PolynomialOptions): Schedule {
  checkOptionKeys('polynomial()', options, ['from', 'to', 'power', 'steps']);
  const from = finite(options?.from, 'polynomial({ from })');
  const to = finite(options.to ?? 0, 'polynomial({ to })');
  const power = finite(options.power ?? 1, 'polynomial({ power })');
  // (1 - t)^power is Infinity at the end of the span for a negative power.
  if (power < 0) invalid(`polynomial({ power }) must be ≥ 0, got ${power}.`);
  const steps = options.steps === undefined ? undefined : positive(options.steps, 'polynomial({ steps })');
  return named((_p, { index, total }) => {
    const length = steps ?? total;
    if (!(length > 0)) return from;
    const t = Math.min(Math.max(index, 0), length) / length;
    return (from - to) * (1 - t) ** power + to;
  }, 'polynomial');
}

export interface StepOptions {
  readonly from: number;
  /** Factor applied every `every` units. Default 0.1 (PyTorch `StepLR`). */
  readonly gamma?: number;
  /** Units between drops (PyTorch `step_size`). */
  readonly every: number;
}

/** `from·gamma^⌊index/every⌋` (PyTorch `StepLR`). The classic "divide by 10 every 30 epochs". */
export function step(options: StepOptions): Schedule {
  checkOptionKeys('step()', options, ['from', 'gamma', 'every']);
  const from = finite(options?.from, 'step({ from })');
  const gamma = finite(options.gamma ?? 0.1, 'step({ gamma })');
  const every = positive(options.every, 'step({ every })');
  return named((_p, { index }) => from * gamma ** Math.floor(index / every), 'step');
}

export interface MultiStepOptions {
  readonly from: number;
  /** Factor applied at each milestone. Default 0.1 (PyTorch `MultiStepLR`). */
  readonly gamma?: number;
  /** Unit indices where the value drops, increasing. */
  readonly milestones: readonly number[];
}

/** `from·gamma^(milestones ≤ index)` (PyTorch `MultiStepLR`). Drops at hand-picked epochs. */
export function multiStep(options: MultiStepOptions): Schedule {
  checkOptionKeys('multiStep()', options, ['from', 'gamma', 'milestones']);
  const from = finite(options?.from, 'multiStep({ from })');
  const gamma = finite(options.gamma ?? 0.1, 'multiStep({ gamma })');
  if (!Array.isArray(options.milestones))
    invalid('multiStep({ milestones }) must be an array of unit indices.');
  const milestones = [...options.milestones].map((m, i) => finite(m, `multiStep({ milestones })[${i}]`));
  for (let i = 1; i < milestones.length; i++) {
    if (milestones[i]! < milestones[i - 1]!)
      invalid(`multiStep milestones must increase, got [${milestones}].`);
  }
  return named((_p, { index }) => from * gamma ** milestones.filter((m) => m <= index).length, 'multiStep');
}

export interface TimeBasedDecayOptions {
  readonly from: number;
  /** Keras `decay` (legacy optimizers) / `decay_rate` (`InverseTimeDecay`). */
  readonly decay: number;
  /** Units per decay increment (Keras `decay_steps`). Default 1. */
  readonly every?: number;
  /** Increment in whole steps of `every` (Keras `staircase`). Default false. */
  readonly staircase?: boolean;
}

/**
 * `from / (1 + decay·t/every)` (Keras legacy `decay` and `InverseTimeDecay`). Slow, never-ending
 * decay for long runs whose length is unknown.
 */
export function timeBasedDecay(options: TimeBasedDecayOptions): Schedule {
  checkOptionKeys('timeBasedDecay()', options, ['from', 'decay', 'every', 'staircase']);
  const from = finite(options?.from, 'timeBasedDecay({ from })');
  const decay = finite(options.decay, 'timeBasedDecay({ decay })');
  const every = positive(options.every ?? 1, 'timeBasedDecay({ every })');
  const staircase = options.staircase ?? false;
  return named((_p, { index }) => {
    const t = index / every;
    return from / (1 + decay * (staircase ? Math.floor(t) : t));
  }, 'timeBasedDecay');
}

export interface CosineWarmRestartsOptions {
  readonly from: number;
  /** Minimum value (PyTorch `eta_min`). Default 0. */
  readonly to?: number;
  /** Units in the first cycle (PyTorch `T_0`). */
  readonly t0: number;
  /** Each cycle is `tMult` times longer than the previous one (PyTorch `T_mult`, an integer ≥ 1). Default 1. */
  readonly tMult?: number;
}

/**
 * Cosine from `from` to `to` over `t0` units, then a restart, cycles growing by `tMult` (SGDR;
 * PyTorch `CosineAnnealingWarmRestarts`). For snapshot ensembles or long runs without a fixed end.
 */
export function cosineWarmRestarts(options: CosineWarmRestartsOptions): Schedule {
  checkOptionKeys('cosineWarmRestarts()', options, ['from', 'to', 't0', 'tMult']);
  const from = finite(options?.from, 'cosineWarmRestarts({ from })');
  const to = finite(options.to ?? 0, 'cosineWarmRestarts({ to })');
  const t0 = positive(options.t0, 'cosineWarmRestarts({ t0 })');
  const tMult = finite(options.tMult ?? 1, 'cosineWarmRestarts({ tMult })');
  if (!Number.isInteger(tMult) || tMult < 1)
    invalid(`cosineWarmRestarts({ tMult }) must be an integer ≥ 1, got ${tMult}.`);
  return named((_p, { index }) => {
    const t = Math.max(0, index);
    let tCur: number;
    let tI: number;
    if (tMult === 1) {
      tCur = t % t0;
      tI = t0;
    } else {
      const n = Math.floor(Math.log((t / t0) * (tMult - 1) + 1) / Math.log(tMult));
      tCur = t - (t0 * (tMult ** n - 1)) / (tMult - 1);
      tI = t0 * tMult ** n;
    }
    return to + ((from - to) * (1 + Math.cos((Math.PI * tCur) / tI))) / 2;
  }, 'cosineWarmRestarts');
}

export interface CyclicOptions {
  /** Lower bound of the cycle (PyTorch `base_lr`). */
  readonly base: number;
  /** Upper bound of the cycle (PyTorch `max_lr`). */
  readonly max: number;
  /** Units going up (PyTorch `step_size_up`). Default 2000. */
  readonly stepSizeUp?: number;
  /** Units going down. Default: `stepSizeUp`. */
  readonly stepSizeDown?: number;
  /** `triangular` (constant amplitude), `triangular2` (halved each cycle), `expRange` (× gamma^index). Default `triangular`. */
  readonly mode?: 'triangular' | 'triangular2' | 'expRange';
  /** For `expRange`. Default 1. */
  readonly gamma?: number;
}

/** Triangular cycles between `base` and `max` (Smith's CLR; PyTorch `CyclicLR`), counted in units. */
export function cyclic(options: CyclicOptions): Schedule {
  checkOptionKeys('cyclic()', options, ['base', 'max', 'stepSizeUp', 'stepSizeDown', 'mode', 'gamma']);
  const base = finite(options?.base, 'cyclic({ base })');
  const max = finite(options.max, 'cyclic({ max })');
  const up = positive(options.stepSizeUp ?? 2000, 'cyclic({ stepSizeUp })');
  const down = positive(options.stepSizeDown ?? up, 'cyclic({ stepSizeDown })');
  const mode = options.mode ?? 'triangular';
  if (mode !== 'triangular' && mode !== 'triangular2' && mode !== 'expRange') {
    invalid(
      `cyclic({ mode }) must be 'triangular', 'triangular2' or 'expRange', got ${describeValue(mode)}.`,
    );
  }
  const gamma = finite(options.gamma ?? 1, 'cyclic({ gamma })');
  const size = up + down;
  const upRatio = up / size;
  return named((_p, { index }) => {
    const cycle = Math.floor(1 + index / size);
    const x = 1 + index / size - cycle;
    const scale = x <= upRatio ? x / upRatio : (x - 1) / (upRatio - 1);
    const height = (max - base) * scale;
    const amplitude =
      mode === 'triangular' ? 1 : mode === 'triangular2' ? 1 / 2 ** (cycle - 1) : gamma ** index;
    return base + height * amplitude;
  }, `cyclic(${mode})`);
}

export type WarmupLength =
  | { readonly steps: number; readonly fraction?: never }
  | { readonly fraction: number; readonly steps?: never };

/**
 * A linear ramp from `startFactor × schedule's first value` to it over the first `steps` units (or
 * `fraction` of the span), then `schedule` over the rest of the span. With `cosine({ from: 1, to: 0 })`
 * as a multiplier this is HF `get_cosine_schedule_with_warmup`.
 */
export function warmup(
  schedule: Schedule,
  length: WarmupLength,
  options: { startFactor?: number } = {},
): Schedule {
  if (typeof schedule !== 'function') invalid('warmup(schedule, ...) needs a schedule function first.');
  checkOptionKeys('warmup() length', length, ['steps', 'fraction']);
  checkOptionKeys('warmup() options', options, ['startFactor']);
  const hasSteps = length?.steps !== undefined;
  const hasFraction = length?.fraction !== undefined;
  if (hasSteps === hasFraction)
    invalid('warmup(schedule, { steps } | { fraction }): give exactly one of them.');
  if (hasSteps && !(finite(length.steps, 'warmup({ steps })') >= 0))
    invalid('warmup({ steps }) must be ≥ 0.');
  if (hasFraction) {
    const f = finite(length.fraction, 'warmup({ fraction })');
    if (f < 0 || f >= 1) invalid(`warmup({ fraction }) must be in [0, 1), got ${f}.`);
  }
  const startFactor = finite(options.startFactor ?? 0, 'warmup({ startFactor })');
  return named(
    (_p, { index, total }) => {
      const w = hasSteps ? length.steps! : length.fraction! * total;
      const rest = { index: index - w, total: Math.max(0, total - w) };
      if (index < w) {
        const target = schedule(0, { index: 0, total: rest.total });
        return target * (startFactor + ((1 - startFactor) * index) / w);
      }
      return schedule(progress(rest.index, rest.total), rest);
    },
    `warmup(${schedule.name || 'schedule'})`,
  );
}

/**
 * The unit where a phase starts: the first whole unit at or after `edge·total`, where `edge` is the
 * phase's start as a fraction of the span. A product that lands within rounding of a whole number
 * is that number (`(3/19)·19` is 3, not 3.0000000000000004), so counting schedules inside
 * `combine` see exact integer indices.
 */
function phaseStart(edge: number, total: number): number {
  const at = edge * total;
  const whole = Math.round(at);
  return Math.abs(at - whole) <= 1e-9 * Math.max(1, Math.abs(at)) ? whole : Math.ceil(at);
}

/**
 * Phases: `schedules[i]` runs over `pcts[i]` of the span, each from its own p = 0 to 1 (fastai
 * `combine_scheds`). `pcts` must sum to 1. One-cycle is `combine([0.25, 0.75], [cosine(lo→hi), cosine(hi→lo)])`.
 * A phase reads `p` as fastai computes it, and its span in whole units (PyTorch `SequentialLR`):
 * it starts at the first unit at or after its share of the span, `index` counts from there and
 * `total` is its length in units, so `step`, `multiStep` and `cyclic` inside a phase count exactly
 * as they would alone.
 */
export function combine(pcts: readonly number[], schedules: readonly Schedule[]): Schedule {
  if (
    !Array.isArray(pcts) ||
    !Array.isArray(schedules) ||
    pcts.length === 0 ||
    pcts.length !== schedules.length
  ) {
    invalid('combine(pcts, schedules) needs two arrays of the same, non-zero length.');
  }
  pcts.forEach((p, i) => {
    if (finite(p, `combine pcts[${i}]`) < 0) invalid(`combine pcts[${i}] must be ≥ 0, got ${p}.`);
  });
  const sum = pcts.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-9) invalid(`combine pcts must sum to 1, got ${sum} ([${pcts}]).`);
  const edges = [0];
  for (const p of pcts) edges.push(edges[edges.length - 1]! + p);
  const last = schedules.length - 1;
  return named((p, { index, total }) => {
    const starts = edges.map((e, k) => (k === edges.length - 1 ? total : phaseStart(e, total)));
    // The phase is chosen on whole units (the last one whose start is reached), as SequentialLR's milestones.
    let i = 0;
    for (let k = 0; k <= last; k++) if (index >= starts[k]!) i = k;
    const span = { index: index - starts[i]!, total: starts[i + 1]! - starts[i]! };
    if (p >= 1 && i === last) return schedules[last]!(1, span);
    // p inside the phase as fastai's combine_scheds computes it (its fit_one_cycle is reproduced exactly).
    const width = edges[i + 1]! - edges[i]!;
    const local = width > 0 ? Math.min(1, Math.max(0, (p - edges[i]!) / width)) : 1;
    return schedules[i]!(local, span);
  }, 'combine');
}
