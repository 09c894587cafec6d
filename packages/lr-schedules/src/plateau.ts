import {
  checkMonitorKey,
  checkOptionKeys,
  describeValue,
  formatHparam,
  inferMonitorMode,
  type MonitorMode,
  type Plugin,
  readMonitor,
  readState,
  resolveMonitorMode,
  TensorloopError,
  type TrainerContext,
} from '@tensorloop/core';
import { PACKAGE } from './schedule-plugin.js';

export interface ReduceOnPlateauOptions {
  /** Epoch log key to watch. Default `val_loss` (Keras). */
  readonly monitor?: string;
  /**
   * `min`, `max`, or `auto`: a metric spec's `direction`, else the key's name (accuracy-, auc-, f1-,
   * precision-, recall-, iou-like keys are maximized, loss- and error-like ones minimized); a key it
   * cannot read fails at fit start with `TL_OPTION_INVALID`. Default `auto`.
   */
  readonly mode?: MonitorMode;
  /** Multiply the value by this on a plateau. Default 0.1. */
  readonly factor?: number;
  /** Epochs without improvement before a reduction (read as `counting` says). Default 10. */
  readonly patience?: number;
  /**
   * How `patience` and `cooldown` count. `keras` (default): reduce at the `patience`-th epoch without
   * improvement (Keras `ReduceLROnPlateau`, and `earlyStopping`), and a cooldown of `c` leaves `c − 1`
   * epochs uncounted. `pytorch`: reduce after `patience + 1` such epochs, a cooldown of `c` leaves
   * `c` uncounted (PyTorch `ReduceLROnPlateau`), for recipes ported from PyTorch.
   */
  readonly counting?: 'keras' | 'pytorch';
  /** Epochs after a reduction during which bad epochs are not counted (see `counting`). Default 0. */
  readonly cooldown?: number;
  /** Never reduce below this (per group with a record). Default 0. */
  readonly minLr?: number | Readonly<Record<string, number>>;
  /** Smallest change that counts as an improvement. Default 1e-4. */
  readonly threshold?: number;
  /** `rel`: better than best·(1 ∓ threshold); `abs`: better than best ∓ threshold. Default `rel` (PyTorch). */
  readonly thresholdMode?: 'rel' | 'abs';
  /** Reductions smaller than this are skipped (PyTorch `eps`). Default 1e-8. */
  readonly eps?: number;
  /** The value to reduce. Default `lr`. */
  readonly hparam?: string;
  /** Param groups to reduce. Default: every group. */
  readonly groups?: readonly string[];
  /**
   * Keep best, bad-epoch count and cooldown across `fit()` calls instead of starting each fit afresh
   * (the factors already applied are kept either way). Default false (Keras).
   */
  readonly persistAcrossFits?: boolean;
  /** Default `@tensorloop/lr-schedules:plateau`. */
  readonly name?: string;
}

const PLATEAU_OPTIONS = [
  'monitor',
  'mode',
  'factor',
  'patience',
  'counting',
  'cooldown',
  'minLr',
  'threshold',
  'thresholdMode',
  'eps',
  'hparam',
  'groups',
  'persistAcrossFits',
  'name',
];

export interface PlateauReduction {
  readonly epoch: number;
  readonly group: string | undefined;
  readonly from: number;
  readonly to: number;
}

/** JSON state: the counters of Keras's and PyTorch's `ReduceLROnPlateau` (best, wait, cooldown), plus our factors. */
export interface PlateauState {
  readonly best: number | null;
  readonly badEpochs: number;
  readonly cooldownLeft: number;
  /** The multiplier this plugin applies, per group (`''` for a group-less value). */
  readonly factors: Readonly<Record<string, number>>;
  readonly reductions: readonly PlateauReduction[];
}

export interface PlateauApi {
  /** The multiplier applied now (of one group; default group `default`, or the group-less value). */
  readonly factor: (group?: string) => number;
  /** Best monitored value so far (undefined before the first epoch). */
  readonly best: () => number | undefined;
  /** Every reduction so far. */
  readonly reductions: () => readonly PlateauReduction[];
}

function invalid(message: string): never {
  throw new TensorloopError('TL_SCHEDULE_INVALID', message);
}

function nonNegative(value: number, what: string): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && value >= 0))
    invalid(`reduceOnPlateau ${what} must be a number ≥ 0, got ${describeValue(value)}.`);
  return value;
}

/** PyTorch `ReduceLROnPlateau._is_better`. */
export function improves(
  value: number,
  best: number,
  mode: 'min' | 'max',
  thresholdMode: 'rel' | 'abs',
  threshold: number,
): boolean {
  if (mode === 'min')
    return thresholdMode === 'rel' ? value < best * (1 - threshold) : value < best - threshold;
  return thresholdMode === 'rel' ? value > best * (threshold + 1) : value > best + threshold;
}

/**
 * Reduce a value (the learning rate) when a monitored metric stops improving. It is a `multiply`
 * writer: it scales whatever schedule sets the value instead of overriding it, so a running cosine
 * keeps its shape at a lower level. Patience and cooldown count as Keras's `ReduceLROnPlateau` (or
 * PyTorch's with `counting: 'pytorch'`), best/wait/cooldown start afresh at each fit (Keras); the
 * threshold modes, min value and eps are PyTorch's.
 */
export function reduceOnPlateau(options: ReduceOnPlateauOptions = {}): Plugin {
  checkOptionKeys('reduceOnPlateau()', options, PLATEAU_OPTIONS);
  const name = options.name ?? `${PACKAGE}:plateau`;
  const monitor = options.monitor ?? 'val_loss';
  if (typeof monitor !== 'string' || monitor === '') {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `reduceOnPlateau(): monitor must be a log key such as 'val_loss'; got ${JSON.stringify(monitor) ?? typeof monitor}.`,
    );
  }
  if (
    options.groups !== undefined &&
    (!Array.isArray(options.groups) || !options.groups.every((g) => typeof g === 'string' && g !== ''))
  ) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `reduceOnPlateau(): groups must be an array of param group names; got ${JSON.stringify(options.groups) ?? typeof options.groups}.`,
    );
  }
  const requestedMode = options.mode ?? 'auto';
  // Decided at fit start (a metric spec may declare the direction); known now when the key says it.
  let mode = inferMonitorMode(monitor, requestedMode);
  const counting = options.counting ?? 'keras';
  if (counting !== 'keras' && counting !== 'pytorch')
    invalid(`reduceOnPlateau counting must be 'keras' or 'pytorch', got ${describeValue(counting)}.`);
  const persistAcrossFits = options.persistAcrossFits ?? false;
  if (typeof persistAcrossFits !== 'boolean')
    invalid(
      `reduceOnPlateau persistAcrossFits must be true or false, got ${describeValue(persistAcrossFits)}.`,
    );
  const factor = options.factor ?? 0.1;
  if (!(typeof factor === 'number' && factor > 0 && factor < 1))
    invalid(`reduceOnPlateau factor must be in (0, 1), got ${describeValue(factor)}.`);
  const patience = nonNegative(options.patience ?? 10, 'patience');
  const cooldown = nonNegative(options.cooldown ?? 0, 'cooldown');
  const threshold = nonNegative(options.threshold ?? 1e-4, 'threshold');
  const thresholdMode = options.thresholdMode ?? 'rel';
  if (thresholdMode !== 'rel' && thresholdMode !== 'abs')
    invalid(`reduceOnPlateau thresholdMode must be 'rel' or 'abs', got ${describeValue(thresholdMode)}.`);
  const eps = nonNegative(options.eps ?? 1e-8, 'eps');
  const hparam = options.hparam ?? 'lr';
  const minLr = options.minLr ?? 0;
  const minOf = (group: string | undefined): number =>
    typeof minLr === 'number' ? minLr : ((group === undefined ? undefined : minLr[group]) ?? 0);

  let best: number | null = null;
  let badEpochs = 0;
  let cooldownLeft = 0;
  let factors: Record<string, number> = {};
  let reductions: PlateauReduction[] = [];

  const groupsOf = (ctx: TrainerContext): (string | undefined)[] => {
    const available = ctx.hparams.groups(hparam);
    if (available.length === 0) return [undefined];
    return options.groups ? [...options.groups] : available;
  };
  const applyFactors = (ctx: TrainerContext) => {
    for (const g of groupsOf(ctx)) {
      ctx.hparams.set(hparam, factors[g ?? ''] ?? 1, g === undefined ? undefined : { group: g });
    }
  };

  /** Reduces every group that can still go down; true when one did. */
  const reduce = (ctx: TrainerContext, epoch: number): boolean => {
    let reduced = false;
    for (const g of groupsOf(ctx)) {
      const scope = g === undefined ? undefined : { group: g };
      const old = ctx.hparams.get(hparam, scope);
      const next = Math.max(old * factor, minOf(g));
      if (old - next <= eps) continue;
      const key = g ?? '';
      const current = factors[key] ?? 1;
      // The new factor brings the value to `next` with whatever the schedule sets right now.
      factors[key] = current * (next / old);
      ctx.hparams.set(hparam, factors[key], scope);
      reductions.push({ epoch, group: g, from: old, to: next });
      reduced = true;
      ctx.logger.info(
        `${monitor} has not improved for ${badEpochs} epochs: ${hparam}${g === undefined ? '' : ` (group ${g})`} ${formatHparam(old)} → ${formatHparam(next)}`,
      );
    }
    return reduced;
  };

  const better = (value: number, m: 'min' | 'max') =>
    best === null || improves(value, best, m, thresholdMode, threshold);

  /** Keras `ReduceLROnPlateau.on_epoch_end`: cooldown first, then improvement, then `wait ≥ patience`. */
  const decideKeras = (ctx: TrainerContext, epoch: number, value: number, m: 'min' | 'max') => {
    if (cooldownLeft > 0) {
      cooldownLeft -= 1;
      badEpochs = 0;
    }
    if (better(value, m)) {
      best = value;
      badEpochs = 0;
    } else if (cooldownLeft === 0) {
      badEpochs += 1;
      // Keras resets wait and starts the cooldown only when the value actually went down.
      if (badEpochs >= patience && reduce(ctx, epoch)) {
        cooldownLeft = cooldown;
        badEpochs = 0;
      }
    }
  };

  /** PyTorch `ReduceLROnPlateau.step`: improvement, then cooldown, then `num_bad_epochs > patience`. */
  const decidePytorch = (ctx: TrainerContext, epoch: number, value: number, m: 'min' | 'max') => {
    if (better(value, m)) {
      best = value;
      badEpochs = 0;
    } else {
      badEpochs += 1;
    }
    if (cooldownLeft > 0) {
      cooldownLeft -= 1;
      badEpochs = 0;
    }
    if (badEpochs > patience) {
      reduce(ctx, epoch);
      cooldownLeft = cooldown;
      badEpochs = 0;
    }
  };

  const api: PlateauApi = {
    factor: (group) => factors[group ?? 'default'] ?? factors[''] ?? 1,
    best: () => best ?? undefined,
    reductions: () => [...reductions],
  };

  return {
    name,
    hparams: [{ name: hparam, mode: 'multiply', ...(options.groups ? { groups: [...options.groups] } : {}) }],
    api,
    describe: () => [
      `multiplies ${hparam} by ${factor} after ${counting === 'keras' ? Math.max(patience, 1) : patience + 1} epochs without ${
        mode === undefined ? 'an improvement' : mode === 'min' ? 'a decrease' : 'an increase'
      } of ${monitor} ` +
        `(${counting} counting, threshold ${threshold} ${thresholdMode}, cooldown ${cooldown}, min ${typeof minLr === 'number' ? minLr : JSON.stringify(minLr)})`,
    ],
    onFitStart(ctx, e) {
      checkMonitorKey(monitor, e.logKeys, name);
      mode = resolveMonitorMode(monitor, requestedMode, name, ctx.metricDirections);
      // Each fit starts afresh, as Keras's on_train_begin; the factors already applied stay.
      if (!e.resumed && !persistAcrossFits) {
        best = null;
        badEpochs = 0;
        cooldownLeft = 0;
      }
      if (options.groups) {
        const available = ctx.hparams.groups(hparam);
        for (const g of options.groups) {
          if (!available.includes(g))
            invalid(`reduceOnPlateau: param group '${g}' does not exist (groups: ${available.join(', ')}).`);
        }
      }
      applyFactors(ctx);
    },
    onEpochEnd(ctx, e) {
      if (e.partial) return;
      const value = readMonitor(e.logs, monitor, name, ctx.logger);
      const m = mode ?? resolveMonitorMode(monitor, requestedMode, name);
      if (counting === 'keras') decideKeras(ctx, e.epoch, value, m);
      else decidePytorch(ctx, e.epoch, value, m);
    },
    state: (): PlateauState => ({
      best,
      badEpochs,
      cooldownLeft,
      factors: { ...factors },
      reductions: [...reductions],
    }),
    parseState: (saved): PlateauState => {
      const s = readState(saved, name);
      return {
        best: s.number('best', { nullable: true }),
        badEpochs: s.integer('badEpochs', { min: 0 }),
        cooldownLeft: s.integer('cooldownLeft', { min: 0 }),
        factors: s.numberRecord('factors'),
        reductions: s.objects('reductions', (r) => {
          const group = r.string('group', { nullable: true });
          return {
            epoch: r.integer('epoch'),
            group: group ?? undefined,
            from: r.number('from'),
            to: r.number('to'),
          };
        }),
      };
    },
    loadState(s: PlateauState) {
      best = s.best;
      badEpochs = s.badEpochs;
      cooldownLeft = s.cooldownLeft;
      factors = { ...s.factors };
      reductions = [...s.reductions];
    },
  };
}
