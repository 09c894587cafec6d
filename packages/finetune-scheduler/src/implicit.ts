import type * as tf from '@tensorflow/tfjs';
import { stringify } from 'yaml';
import type { Phase, PhaseSpec } from './schedule-types.js';

interface LayerLike {
  trainable: boolean;
  readonly layers?: LayerLike[];
}

function allLayers(layers: readonly LayerLike[], out: LayerLike[] = []): LayerLike[] {
  for (const layer of layers) {
    out.push(layer);
    if (Array.isArray(layer.layers)) allLayers(layer.layers, out);
  }
  return out;
}

/**
 * The names of every weight that can ever be trained, in the order a tensorloop `Trainer` keeps
 * them (`trainer.parameters()`): the model's trainable weights as if nothing were frozen, by
 * `originalName`. BatchNorm moving statistics are not in it.
 */
export function weightNames(model: tf.LayersModel): string[] {
  const layers = allLayers(model.layers as unknown as LayerLike[]);
  const container = model as unknown as LayerLike;
  const saved = layers.map((l) => l.trainable);
  const savedModel = container.trainable;
  try {
    for (const l of layers) l.trainable = true;
    return model.trainableWeights.map((w) => w.originalName);
  } finally {
    // Outermost first: a container's `trainable` setter rewrites its children's weight flags.
    container.trainable = savedModel;
    for (let i = 0; i < layers.length; i++) layers[i]!.trainable = saved[i]!;
  }
}

/**
 * FTS's implicit schedule from weight names: the names in reverse model order (output first), two
 * per phase, and with an odd count the bottom-most weight alone in the last phase.
 */
export function implicitPhases(names: readonly string[]): string[][] {
  const reversed = [...names].reverse();
  const levels: string[][] = [];
  for (let i = 0; i < reversed.length; i += 2) levels.push(reversed.slice(i, i + 2));
  return levels;
}

/**
 * The implicit schedule of a model, as a schedule object you can edit and pass back as `schedule`
 * (`{ 0: { params: ['out/bias', 'out/kernel'] }, 1: ... }`). Layer boundaries are not respected:
 * the phases are blind pairs, as FTS's "intentionally simple" default.
 */
export function generateSchedule(model: tf.LayersModel): Record<number, { params: string[] }> {
  return Object.fromEntries(implicitPhases(weightNames(model)).map((params, i) => [i, { params }]));
}

/** A schedule as YAML (camelCase keys; the form `schedule` reads back). */
export function formatSchedule(
  schedule: readonly Phase[] | Readonly<Record<number, PhaseSpec | { params: readonly string[] }>>,
): string {
  // A Map keeps the phase keys integers (`0:`), as FTS writes them.
  const out = new Map<number, Record<string, unknown>>();
  const phases = Array.isArray(schedule)
    ? (schedule as readonly Phase[])
    : Object.entries(schedule).map(([k, v]) => ({ depth: Number(k), ...(v as PhaseSpec) }));
  for (const p of phases as readonly (Partial<Phase> & PhaseSpec & { depth: number })[]) {
    const entry: Record<string, unknown> = { params: [...p.params] };
    if (p.maxTransitionEpoch !== undefined && p.maxTransitionEpoch >= 0)
      entry.maxTransitionEpoch = p.maxTransitionEpoch;
    if (p.lr !== undefined) entry.lr = p.lr;
    if (p.newOptimizer !== undefined) entry.newOptimizer = { ...p.newOptimizer };
    if (p.newLrSchedule !== undefined) {
      const s = p.newLrSchedule as { fn?: unknown; every?: string; total?: number; args?: unknown };
      entry.newLrSchedule = {
        fn: typeof s.fn === 'function' ? 'function' : s.fn,
        ...(s.args === undefined ? {} : { args: s.args }),
        every: s.every ?? 'epoch',
        ...(s.total === undefined ? {} : { total: s.total }),
      };
    }
    out.set(p.depth, entry);
  }
  return stringify(out);
}
