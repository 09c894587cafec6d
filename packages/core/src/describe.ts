import type * as tf from '@tensorflow/tfjs';
import type { HookRunner } from './hooks.js';
import { type AnyOptimizer, isTensorloopOptimizer } from './optimizer-seam.js';
import {
  type FitPlanInfo,
  HOOK_KINDS,
  type Plugin,
  type TrainerContext,
  WEIGHT_WRITE_POINTS,
} from './plugin.js';
import type { Time } from './time.js';
import type { TrainableWeight } from './variables.js';
import type { WeightWriter } from './weight-writers.js';

export interface PlanParts {
  readonly model: tf.LayersModel;
  readonly loss: string;
  readonly metrics: readonly string[];
  readonly optimizer: AnyOptimizer;
  readonly plugins: readonly Plugin[];
  readonly hooks: HookRunner;
  readonly weights: readonly TrainableWeight[];
  readonly plan: FitPlanInfo | undefined;
  readonly time: Time;
  readonly backend: string;
  /** Declared hyperparameter writers: `lr (group head): set by a, multiply by b`. */
  readonly writers: readonly { plugin: string; name: string; mode: string; groups?: readonly string[] }[];
  /** Declared weight writers (`writesWeights`), in plugin order. */
  readonly weightWriters?: readonly WeightWriter[];
  /** Each plugin's context, handed to its `describe(ctx)`. */
  readonly contextFor: (plugin: string) => TrainerContext;
}

/** Core hooks in the order a fit meets them (the table in `plugin.ts`); custom events follow. */
const HOOK_ORDER: readonly string[] = Object.keys(HOOK_KINDS);

function optimizerName(opt: AnyOptimizer): string {
  if (isTensorloopOptimizer(opt)) return `tensorloop ${(opt as { type?: string }).type ?? 'optimizer'}`;
  return `tfjs ${(opt as { getClassName?: () => string }).getClassName?.() ?? opt.constructor.name}`;
}

function pluginLine(p: Plugin, i: number): string {
  const notes: string[] = [];
  if (p.enforce) notes.push(`enforce: ${p.enforce}`);
  if (p.dependencies?.length) notes.push(`depends on ${p.dependencies.join(', ')}`);
  if (p.after?.length) notes.push(`after ${p.after.join(', ')}`);
  if (p.before?.length) notes.push(`before ${p.before.join(', ')}`);
  if (p.needsBatchLogs) notes.push('reads batch logs every step');
  if (p.state) notes.push('checkpointed');
  const version = p.version ? `@${p.version}` : '';
  return `  ${i + 1}. ${p.name}${version}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

/** The resolved plan as text, for `trainer.describe()`. */
export function describePlan(parts: PlanParts): string {
  const { model, weights, plan, time } = parts;
  const params = model.countParams();
  const frozen = weights.filter((w) => !w.variable.trainable).length;
  const lines = [
    'tensorloop trainer',
    `  backend: ${parts.backend}`,
    `  model: ${model.name} (${model.layers.length} layers, ${params.toLocaleString('en-US')} parameters; ${weights.length} trainable weights${frozen ? `, ${frozen} frozen` : ''})`,
    `  loss: ${parts.loss}${parts.metrics.length ? `; metrics: ${parts.metrics.join(', ')}` : ''}`,
    `  optimizer: ${optimizerName(parts.optimizer)}`,
    `  time: epoch ${time.epoch}, step ${time.step}, batch ${time.batch}, sample ${time.sample}, fit ${time.fitIndex}`,
  ];
  if (plan) {
    lines.push(
      `  current/last fit: ${plan.epochs} epochs × ${plan.stepsPerEpoch ?? '?'} batches${plan.batchSize ? ` of ${plan.batchSize}` : ''}`,
    );
  }
  lines.push(`plugins (resolved order): ${parts.plugins.length === 0 ? 'none' : ''}`);
  parts.plugins.forEach((p, i) => {
    lines.push(pluginLine(p, i));
    let extra: string | readonly string[] = [];
    try {
      extra = p.describe?.(parts.contextFor(p.name)) ?? [];
    } catch (error) {
      extra = [`(describe() failed: ${(error as Error)?.message ?? String(error)})`];
    }
    for (const line of typeof extra === 'string' ? [extra] : extra) lines.push(`       ${line}`);
  });
  if (parts.writers.length) {
    lines.push('hyperparameter writers:');
    const byName = new Map<string, string[]>();
    for (const w of parts.writers) {
      const key = `${w.name}${w.groups ? ` (groups ${w.groups.join(', ')})` : ''}`;
      byName.set(key, [...(byName.get(key) ?? []), `${w.mode} by ${w.plugin}`]);
    }
    for (const [key, who] of byName) lines.push(`  ${key}: ${who.join(', ')}`);
  }
  if (parts.weightWriters?.length) {
    lines.push('weight writers (later wins):');
    for (const point of WEIGHT_WRITE_POINTS) {
      const who = parts.weightWriters.filter((w) => w.point === point).map((w) => w.plugin);
      if (who.length) lines.push(`  ${point}: ${who.join(' → ')}`);
    }
  }
  const hooks = parts.hooks.hooks();
  if (hooks.length) {
    lines.push('hooks (who runs, in order):');
    const ordered = [
      ...HOOK_ORDER.filter((h) => hooks.includes(h)),
      ...hooks.filter((h) => !HOOK_ORDER.includes(h)),
    ];
    for (const h of ordered) lines.push(`  ${h}: ${parts.hooks.order(h).join(' → ')}`);
  }
  return lines.join('\n');
}
