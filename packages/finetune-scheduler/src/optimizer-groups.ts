import * as tf from '@tensorflow/tfjs';
import { isTensorloopOptimizer, type TensorloopOptimizer, type TrainerContext } from '@tensorloop/core';
import { fail, invalidSchedule } from './errors.js';
import type { Phase } from './schedule-types.js';

/** The param group a phase ≥ 1 adds: one per phase. */
export const phaseGroupName = (depth: number): string => `phase${depth}`;

/** The trainer's optimizer when it is a core (name-keyed, grouped) one. */
export function groupedOptimizer(ctx: TrainerContext): TensorloopOptimizer | undefined {
  const opt = ctx.optimizer;
  return isTensorloopOptimizer(opt) && 'groups' in opt ? (opt as TensorloopOptimizer) : undefined;
}

/**
 * Before the first step: the optimizer can hold one param group per phase. tfjs optimizers have no
 * groups (so no per-phase lr), which only a run that never leaves phase 0 can do without; a user
 * group may hold only phase-0 weights (or weights in no phase), since a phase's group takes its
 * weights from the default group; group names `phase1`, ... are this plugin's.
 */
export function checkOptimizer(
  ctx: TrainerContext,
  phases: readonly Phase[],
  maxDepth: number,
  depth: number,
): TensorloopOptimizer | undefined {
  const opt = groupedOptimizer(ctx);
  if (opt === undefined) {
    if (maxDepth > 0) {
      fail(
        'TL_OPTIMIZER_INVALID',
        `phases after phase 0 add a param group each (their own lr, their own Adam bias correction), which tfjs optimizers cannot hold: they have one lr and key their state by position. Use a core optimizer with the same update rule (adam({ lr: 1e-3 }), sgd({ lr, momentum }), adamw, rmsprop, adagrad from @tensorloop/core), or maxDepth: 0 to train phase 0 alone.`,
      );
    }
    return undefined;
  }
  const owner = new Map<string, number>();
  for (const p of phases) for (const name of p.params) owner.set(name, p.depth);
  const ours = new Set(phases.slice(1, maxDepth + 1).map((p) => phaseGroupName(p.depth)));
  for (const group of opt.groups) {
    if (group.name === 'default') continue;
    if (ours.has(group.name)) {
      const k = Number(group.name.slice('phase'.length));
      if (k > depth) {
        fail(
          'TL_OPTIMIZER_INVALID',
          `the optimizer already has a param group '${group.name}', the name this plugin gives phase ${k}'s group, at depth ${depth}. Rename your group.`,
        );
      }
      continue;
    }
    const later = group.variables.filter((v) => (owner.get(v) ?? 0) > 0);
    if (later.length > 0) {
      fail(
        'TL_OPTIMIZER_INVALID',
        `the optimizer's param group '${group.name}' holds weights of later phases (${later
          .slice(0, 4)
          .map((v) => `${v} in phase ${owner.get(v)}`)
          .join(
            ', ',
          )}${later.length > 4 ? ', …' : ''}). A phase's group can only take weights from the default group, so they would train at '${group.name}''s lr. Let your groups select phase-0 weights only, or drop them (noDecay too).`,
      );
    }
  }
  for (const p of phases.slice(1, maxDepth + 1)) {
    if (p.newOptimizer === undefined) continue;
    for (const key of Object.keys(p.newOptimizer)) {
      if (!opt.hyperparameterNames.includes(key)) {
        invalidSchedule(
          `phase ${p.depth}: newOptimizer.${key} is not a hyperparameter of the trainer's ${opt.type} optimizer (${opt.hyperparameterNames.join(', ')}).`,
        );
      }
    }
  }
  return opt;
}

/** Refuses a `newOptimizer.type` other than the trainer's: a phase can reset the optimizer, not replace it. */
export function checkOptimizerType(
  opt: TensorloopOptimizer | undefined,
  depth: number,
  type: string | undefined,
): void {
  if (type === undefined || opt === undefined || type === opt.type) return;
  invalidSchedule(
    `phase ${depth}: newOptimizer.type is '${type}' but the trainer's optimizer is ${opt.type}. A trainer keeps one optimizer: a phase can reset its state and change its hyperparameters, not switch ${opt.type} → ${type}. Build the Trainer with ${type}(...) or drop type.`,
  );
}

/**
 * Adds the group of `phase` unless the optimizer has it (a resumed optimizer brings its groups:
 * adding again would duplicate them, FTS #30). Returns true when it added one.
 */
export function ensurePhaseGroup(
  opt: TensorloopOptimizer,
  phase: Phase,
  hparams: Readonly<Record<string, number>>,
): boolean {
  const name = phaseGroupName(phase.depth);
  if (opt.groups.some((g) => g.name === name)) return false;
  const members = new Set(phase.params);
  opt.addGroup({ name, match: (n: string) => members.has(n), ...hparams });
  return true;
}

/** A fresh optimizer state (no moments, every weight's step count 0), groups and hyperparameters kept. */
export function resetOptimizerState(opt: TensorloopOptimizer): void {
  const state = opt.getState();
  tf.dispose(Object.values(state.slots));
  opt.setState({ meta: { ...state.meta, steps: {} }, slots: {} });
}
