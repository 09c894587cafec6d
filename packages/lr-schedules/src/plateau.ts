import {
  formatHparam,
  type MonitorMode,
  type Plugin,
  readMonitor,
  readState,
  resolveMode,
  TensorloopError,
  type TrainerContext,
} from '@tensorloop/core';
import { PACKAGE } from './schedule-plugin.js';

export interface ReduceOnPlateauOptions {
  /** Epoch log key to watch. Default `val_loss` (Keras). */
  readonly monitor?: string;
  /** `min`, `max`, or `auto` (accuracy-like keys are maximized, as Keras). Default `auto`. */
  readonly mode?: MonitorMode;
  /** Multiply the value by this on a plateau. Default 0.1. */
  readonly factor?: number;
  /** Epochs without improvement tolerated; the reduction comes after `patience + 1` bad epochs (PyTorch). Default 10. */
  readonly patience?: number;
  /** Epochs after a reduction during which bad epochs are not counted. Default 0. */
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
  /** Default `@tensorloop/lr-schedules:plateau`. */
  readonly name?: string;
}

export interface PlateauReduction {
  readonly epoch: number;
  readonly group: string | undefined;
  readonly from: number;
  readonly to: number;
}

/** JSON state: the counters PyTorch's `ReduceLROnPlateau.state_dict()` holds, plus our factors. */
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
    invalid(`reduceOnPlateau ${what} must be a number ≥ 0, got ${String(value)}.`);
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
 * keeps its shape at a lower level. Decisions follow PyTorch `ReduceLROnPlateau` (threshold modes,
 * cooldown, min value, eps); the monitor default and `auto` mode follow Keras.
 */
export function reduceOnPlateau(options: ReduceOnPlateauOptions = {}): Plugin {
  const name = options.name ?? `${PACKAGE}:plateau`;
  const monitor = options.monitor ?? 'val_loss';
  const mode = resolveMode(monitor, options.mode ?? 'auto');
  const factor = options.factor ?? 0.1;
  if (!(factor > 0 && factor < 1))
    invalid(`reduceOnPlateau factor must be in (0, 1), got ${String(factor)}.`);
  const patience = nonNegative(options.patience ?? 10, 'patience');
  const cooldown = nonNegative(options.cooldown ?? 0, 'cooldown');
  const threshold = nonNegative(options.threshold ?? 1e-4, 'threshold');
  const thresholdMode = options.thresholdMode ?? 'rel';
  if (thresholdMode !== 'rel' && thresholdMode !== 'abs')
    invalid(`reduceOnPlateau thresholdMode must be 'rel' or 'abs', got ${String(thresholdMode)}.`);
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

  const reduce = (ctx: TrainerContext, epoch: number) => {
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
      ctx.logger.info(
        `${monitor} has not improved for ${badEpochs} epochs: ${hparam}${g === undefined ? '' : ` (group ${g})`} ${formatHparam(old)} → ${formatHparam(next)}`,
      );
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
      `multiplies ${hparam} by ${factor} after ${patience + 1} epochs without ${mode === 'min' ? 'a decrease' : 'an increase'} of ${monitor} ` +
        `(threshold ${threshold} ${thresholdMode}, cooldown ${cooldown}, min ${typeof minLr === 'number' ? minLr : JSON.stringify(minLr)})`,
    ],
    onFitStart(ctx) {
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
      const value = readMonitor(e.logs, monitor, name);
      if (best === null || improves(value, best, mode, thresholdMode, threshold)) {
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
        reduce(ctx, e.epoch);
        cooldownLeft = cooldown;
        badEpochs = 0;
      }
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
