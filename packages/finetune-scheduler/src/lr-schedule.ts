import { isTensorloopError } from '@tensorloop/core';
import { invalidSchedule } from './errors.js';
import type { LrFactorFn, LrScheduleBuilder, ParsedLrSchedule } from './schedule-types.js';

const LR_SCHEDULES = '@tensorloop/lr-schedules';

type Builders = Record<LrScheduleBuilder, (args: unknown) => LrFactorFn>;

/** `@tensorloop/lr-schedules`, an optional peer: loaded only when a schedule names one of its builders. */
async function loadBuilders(depth: number, name: string): Promise<Builders> {
  try {
    // A variable specifier: bundlers must not require the optional peer.
    const id = LR_SCHEDULES;
    return (await import(/* @vite-ignore */ id)) as Builders;
  } catch (cause) {
    return invalidSchedule(
      `phase ${depth}: newLrSchedule.fn '${name}' names a ${LR_SCHEDULES} builder, but that package could not be loaded (${(cause as Error).message}). Install it (npm i ${LR_SCHEDULES}) or pass a function (p, span) => factor.`,
    );
  }
}

/** The factor function of a phase's `newLrSchedule`: a function as given, or a named builder called with `args`. */
export async function resolveFactorFn(depth: number, spec: ParsedLrSchedule): Promise<LrFactorFn> {
  if (typeof spec.fn === 'function') return spec.fn;
  const builders = await loadBuilders(depth, spec.fn);
  const build = builders[spec.fn];
  if (typeof build !== 'function') {
    return invalidSchedule(`phase ${depth}: ${LR_SCHEDULES} has no builder '${spec.fn}'.`);
  }
  try {
    return build(spec.args);
  } catch (cause) {
    const why = isTensorloopError(cause) ? cause.message : String(cause);
    return invalidSchedule(
      `phase ${depth}: newLrSchedule ${spec.fn}(${JSON.stringify(spec.args)}) was refused: ${why}`,
    );
  }
}

/** The running lr schedule: started at a transition, it scales every group's base lr. */
export interface ActiveLrSchedule {
  /** The phase whose `newLrSchedule` it is. */
  readonly phase: number;
  readonly every: 'epoch' | 'step';
  readonly startEpoch: number;
  readonly startStep: number;
  readonly total: number;
  /** Base lr of each param group it scales (groups added later join with their phase lr). */
  readonly bases: Record<string, number>;
}

/** The factor at a time: `fn(p, { index, total })` with the index counted from the transition. */
export function factorAt(fn: LrFactorFn, s: ActiveLrSchedule, time: { epoch: number; step: number }): number {
  const index = s.every === 'epoch' ? time.epoch - s.startEpoch : time.step - s.startStep;
  const p = s.total > 0 ? Math.min(1, Math.max(0, index / s.total)) : 0;
  const value = fn(p, { index, total: s.total });
  if (!Number.isFinite(value) || value < 0) {
    invalidSchedule(
      `phase ${s.phase}: newLrSchedule gave the factor ${value} at index ${index} of ${s.total}; a factor must be a finite number ≥ 0.`,
    );
  }
  return value;
}
