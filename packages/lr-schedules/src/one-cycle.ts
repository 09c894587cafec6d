import {
  checkOptionKeys,
  describeValue,
  type Plugin,
  TensorloopError,
  type TrainerContext,
} from '@tensorloop/core';
import { PACKAGE, scheduleDriver, type Track } from './schedule-plugin.js';
import type { Schedule } from './schedules.js';

export type Anneal = 'cos' | 'linear';

export interface OneCycleLrOptions {
  /** Peak learning rate. */
  readonly maxLr: number;
  /** Start at `maxLr / divFactor`. Default 25 (PyTorch and fastai). */
  readonly divFactor?: number;
  /** End at `maxLr / divFactor / finalDivFactor`. Default 1e4 (PyTorch; fastai ends at `maxLr / 1e5`). */
  readonly finalDivFactor?: number;
  /** Fraction of the steps spent going up. Default 0.25 (fastai; PyTorch's default is 0.3). */
  readonly pctStart?: number;
  /** Default `cos`. */
  readonly anneal?: Anneal;
  /**
   * PyTorch `three_phase`: up to `maxLr` over `pctStart` of the steps, back down to the start value
   * over the same number of steps, then annihilate to the final value (momentum: down, up, then held
   * at its max). Default false (two phases).
   */
  readonly threePhase?: boolean;
}

export interface OneCycleOptions extends Omit<OneCycleLrOptions, 'maxLr'> {
  /** Peak learning rate, or one per param group (discriminative: only those groups are written). */
  readonly maxLr: number | Readonly<Record<string, number>>;
  /**
   * `[max, base]`: momentum starts at max, falls to base at the lr peak and comes back (PyTorch
   * `max_momentum` 0.95 / `base_momentum` 0.85, fastai `moms`). `false`: leave momentum alone.
   */
  readonly momentum?: readonly [number, number] | false;
  /**
   * Which value is "momentum". Default: `beta1` when the optimizer has it (adam, adamw), `momentum` for
   * sgd and for rmsprop built with momentum > 0 (as PyTorch), `alpha` for rmsprop without momentum.
   */
  readonly momentumHparam?: string;
  /** Steps in the cycle (PyTorch `total_steps`). Default: the fit's epochs × steps per epoch. */
  readonly total?: number;
  /** Default `@tensorloop/lr-schedules:one-cycle`. */
  readonly name?: string;
}

function invalid(message: string): never {
  throw new TensorloopError('TL_SCHEDULE_INVALID', message);
}

function positiveNumber(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    invalid(`${what} must be a positive number, got ${describeValue(value)}.`);
  return value;
}

function checkPct(value: number, threePhase: boolean): number {
  if (!(Number.isFinite(value) && value > 0 && value < 1))
    invalid(`oneCycle pctStart must be in (0, 1), got ${describeValue(value)}.`);
  // Up and back down take 2·pctStart of the cycle: there must be room left for the annihilation.
  if (threePhase && !(value < 0.5))
    invalid(
      `oneCycle pctStart must be below 0.5 with threePhase (up and down take 2·pctStart), got ${value}.`,
    );
  return value;
}

function flag(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') invalid(`${what} must be true or false, got ${describeValue(value)}.`);
  return value;
}

const LR_OPTIONS = ['maxLr', 'divFactor', 'finalDivFactor', 'pctStart', 'anneal', 'threePhase'];
const ONE_CYCLE_OPTIONS = [...LR_OPTIONS, 'momentum', 'momentumHparam', 'total', 'name'];

function annealer(kind: Anneal): (start: number, end: number, pct: number) => number {
  if (kind === 'linear') return (start, end, pct) => start + (end - start) * pct;
  if (kind !== 'cos') invalid(`oneCycle anneal must be 'cos' or 'linear', got ${describeValue(kind)}.`);
  return (start, end, pct) => end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
}

/**
 * PyTorch `OneCycleLR` phases. Two: phase one ends at step `pctStart·total − 1`, phase two at
 * `total − 1`. Three (`three_phase`): `pctStart·total − 1`, `2·pctStart·total − 2`, `total − 1`, the
 * middle phase going back to the start value. The position inside a phase is
 * `(step − start) / (end − start)`, as `OneCycleLR.get_lr()` computes it.
 */
function phases(
  pctStart: number,
  anneal: Anneal,
  threePhase: boolean,
  values: readonly [first: number, middle: number, last: number],
  name: string,
): Schedule {
  const interpolate = annealer(anneal);
  const [first, middle, last] = values;
  const s: Schedule = (_p, { index, total }) => {
    const table = threePhase
      ? [
          { end: pctStart * total - 1, from: first, to: middle },
          { end: 2 * pctStart * total - 2, from: middle, to: first },
          { end: total - 1, from: first, to: last },
        ]
      : [
          { end: pctStart * total - 1, from: first, to: middle },
          { end: total - 1, from: middle, to: last },
        ];
    let start = 0;
    for (let i = 0; i < table.length; i++) {
      const phase = table[i]!;
      if (index <= phase.end || i === table.length - 1) {
        const pct = phase.end > start ? (index - start) / (phase.end - start) : 1;
        return interpolate(phase.from, phase.to, Math.min(Math.max(pct, 0), 1));
      }
      start = phase.end;
    }
    return last;
  };
  Object.defineProperty(s, 'name', { value: name });
  return s;
}

/** The one-cycle learning rate as a schedule of steps (equal to PyTorch `OneCycleLR` at every step). */
export function oneCycleLr(options: OneCycleLrOptions): Schedule {
  checkOptionKeys('oneCycleLr()', options, LR_OPTIONS);
  const maxLr = positiveNumber(options?.maxLr, 'oneCycle maxLr');
  const div = positiveNumber(options.divFactor ?? 25, 'oneCycle divFactor');
  const finalDiv = positiveNumber(options.finalDivFactor ?? 1e4, 'oneCycle finalDivFactor');
  const initial = maxLr / div;
  const threePhase = flag(options.threePhase, 'oneCycle threePhase');
  return phases(
    checkPct(options.pctStart ?? 0.25, threePhase),
    options.anneal ?? 'cos',
    threePhase,
    [initial, maxLr, initial / finalDiv],
    threePhase ? 'one-cycle lr (three phases)' : 'one-cycle lr',
  );
}

/** The one-cycle momentum (inverse of the lr): `max → base` while the lr rises, `base → max` after. */
export function oneCycleMomentum(options: {
  readonly momentum?: readonly [number, number];
  readonly pctStart?: number;
  readonly anneal?: Anneal;
  readonly threePhase?: boolean;
}): Schedule {
  checkOptionKeys('oneCycleMomentum()', options, ['momentum', 'pctStart', 'anneal', 'threePhase']);
  const momentum: unknown = options.momentum ?? [0.95, 0.85];
  if (!Array.isArray(momentum) || momentum.length !== 2)
    invalid(
      `oneCycle momentum must be [max, base] numbers (or false); got ${JSON.stringify(momentum) ?? typeof momentum}.`,
    );
  const [max, base] = momentum as [number, number];
  if (!Number.isFinite(max) || !Number.isFinite(base))
    invalid('oneCycle momentum must be [max, base] numbers.');
  const threePhase = flag(options.threePhase, 'oneCycle threePhase');
  // Three phases: max → base → max, then held at max while the lr annihilates (PyTorch).
  return phases(
    checkPct(options.pctStart ?? 0.25, threePhase),
    options.anneal ?? 'cos',
    threePhase,
    [max, base, max],
    threePhase ? 'one-cycle momentum (three phases)' : 'one-cycle momentum',
  );
}

/** The optimizer value one-cycle treats as momentum (see `OneCycleOptions.momentumHparam`). */
export function momentumHparamOf(ctx: TrainerContext): string | undefined {
  const names = ctx.hparams.names();
  if (names.includes('beta1')) return 'beta1';
  const type = (ctx.optimizer as { type?: unknown }).type;
  if (names.includes('momentum')) {
    if (type === 'rmsprop' && names.includes('alpha') && ctx.hparams.get('momentum') === 0) return 'alpha';
    return 'momentum';
  }
  return names.includes('alpha') ? 'alpha' : undefined;
}

/**
 * One-cycle (Smith; fastai `fit_one_cycle`, PyTorch `OneCycleLR`): lr from `maxLr/divFactor` up to
 * `maxLr` over `pctStart` of the fit, then down to `maxLr/divFactor/finalDivFactor`, stepped per
 * optimizer step; momentum moves the opposite way.
 */
export function oneCycle(options: OneCycleOptions): Plugin {
  if (options === null || typeof options !== 'object')
    invalid('oneCycle({ maxLr, ... }) needs an options object.');
  checkOptionKeys('oneCycle()', options, ONE_CYCLE_OPTIONS);
  const name = options.name ?? `${PACKAGE}:one-cycle`;
  const common = {
    pctStart: options.pctStart ?? 0.25,
    anneal: options.anneal ?? ('cos' as const),
    threePhase: flag(options.threePhase, 'oneCycle threePhase'),
  };
  const lrOf = (maxLr: number) =>
    oneCycleLr({
      maxLr,
      divFactor: options.divFactor ?? 25,
      finalDivFactor: options.finalDivFactor ?? 1e4,
      ...common,
    });
  let lrTrack: Track;
  if (typeof options.maxLr === 'number') {
    lrTrack = { hparam: 'lr', mode: 'set', fn: lrOf(options.maxLr), groups: undefined };
  } else if (typeof options.maxLr === 'object' && options.maxLr !== null) {
    const groups = new Map(Object.entries(options.maxLr).map(([g, v]) => [g, lrOf(v)] as const));
    if (groups.size === 0) invalid('oneCycle maxLr: the per-group record is empty.');
    lrTrack = { hparam: 'lr', mode: 'set', fn: [...groups.values()][0]!, groups };
  } else {
    return invalid(
      `oneCycle maxLr must be a number or a record of group → number, got ${describeValue(options.maxLr)}.`,
    );
  }
  const momentumFn =
    options.momentum === false
      ? undefined
      : oneCycleMomentum({ ...common, ...(options.momentum ? { momentum: options.momentum } : {}) });
  const momentumTrack = (hparam: string): Track => ({
    hparam,
    mode: 'set',
    fn: momentumFn!,
    groups: lrTrack.groups ? new Map([...lrTrack.groups.keys()].map((g) => [g, momentumFn!])) : undefined,
  });
  const candidates =
    options.momentumHparam !== undefined ? [options.momentumHparam] : ['momentum', 'beta1', 'alpha'];
  const groupList = lrTrack.groups ? { groups: [...lrTrack.groups.keys()] } : {};
  return scheduleDriver({
    name,
    label: `one-cycle (pctStart ${common.pctStart}, ${common.anneal}${common.threePhase ? ', three phases' : ''})`,
    every: 'step',
    over: 'fit',
    total: options.total,
    declared: [
      { name: 'lr', mode: 'set', ...groupList },
      ...(momentumFn ? candidates.map((c) => ({ name: c, mode: 'set' as const, ...groupList })) : []),
    ],
    resolve(ctx) {
      if (!momentumFn) return [lrTrack];
      if (ctx === undefined) return [lrTrack, momentumTrack(options.momentumHparam ?? 'momentum')];
      const hparam = options.momentumHparam ?? momentumHparamOf(ctx);
      if (hparam === undefined) {
        ctx.logger.debug(
          'the optimizer exposes no momentum-like value (tfjs optimizers expose only lr): cycling lr only.',
        );
        return [lrTrack];
      }
      return [lrTrack, momentumTrack(hparam)];
    },
  });
}
