import * as tf from '@tensorflow/tfjs';
import { describeValue, TensorloopError } from '@tensorloop/core';
import type { Precision } from './rounding.js';

/** What keeps a layer (or its activation) in float32: a layer class, an activation, a layer name, or a pattern. */
export type KeepFloat32Entry = string | RegExp;

/**
 * Kept in float32 by default, as the mixed-precision policies of Keras and PyTorch's autocast do:
 * normalization (its mean and variance of half-precision activations lose too much, and its
 * moving statistics are accumulated over the whole run), and softmax (an exponential that overflows
 * half precision above 11.1 and whose small probabilities underflow). The loss always runs in
 * float32: it is computed outside the model.
 */
export const DEFAULT_KEEP_FLOAT32: readonly KeepFloat32Entry[] = Object.freeze([
  'BatchNormalization',
  'LayerNormalization',
  'Softmax',
  'softmax',
  'logSoftmax',
]);

/** Layers whose input is indices, which rounding would change (index 2049 is not a float16). */
const INDEX_INPUT_LAYERS: ReadonlySet<string> = new Set(['Embedding']);

/** How one layer computes under the plan. */
export interface LayerPrecision {
  /** The layer's name (nested models' layers as `outer/inner`). */
  readonly layer: string;
  readonly className: string;
  /** What its weights, inputs and outputs are rounded to (`'float32'`: not rounded). */
  readonly compute: Precision;
  /** Weight names (`originalName`) the forward pass sees rounded. */
  readonly roundedWeights: readonly string[];
  /** Its inputs are rounded (false for float32 layers and index inputs such as Embedding's). */
  readonly roundsInputs: boolean;
  /** Its activation (named) runs in float32 on the rounded pre-activation; its output stays float32. */
  readonly float32Activation: string | undefined;
  /** Why, when something is kept in float32: the `keepFloat32` entry that matched. */
  readonly reason: string | undefined;
  /** The layer object (not serialized). */
  readonly target: tf.layers.Layer;
}

interface ActivationHolder {
  activation?: { getClassName(): string };
}

function activationName(layer: tf.layers.Layer): string | undefined {
  const act = (layer as unknown as ActivationHolder).activation;
  return typeof act?.getClassName === 'function' ? act.getClassName() : undefined;
}

function matches(entry: KeepFloat32Entry, layer: tf.layers.Layer): boolean {
  return typeof entry === 'string'
    ? entry === layer.getClassName() || entry === layer.name
    : entry.test(layer.name);
}

function describeEntry(entry: KeepFloat32Entry): string {
  return typeof entry === 'string' ? `'${entry}'` : String(entry);
}

export function checkKeepFloat32(value: unknown): readonly KeepFloat32Entry[] {
  if (value === undefined) return DEFAULT_KEEP_FLOAT32;
  if (!Array.isArray(value) || !value.every((e) => typeof e === 'string' || e instanceof RegExp)) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `amp(): keepFloat32 must be an array of layer class names ('BatchNormalization'), activation names ('softmax'), layer names or RegExps over layer names; got ${describeValue(value)}.`,
    );
  }
  return Object.freeze([...value]);
}

/**
 * The precision plan of a model: for every layer, whether it rounds (weights, inputs, outputs) or
 * stays float32, and whether its activation is kept in float32. A layer is kept when an entry
 * names its class or its name, or a RegExp matches its name; an entry naming its activation keeps
 * only the activation. A nested model named by an entry is kept whole. `unused` lists the entries
 * that matched nothing.
 */
export function planPrecision(
  model: tf.LayersModel,
  precision: Precision,
  keep: readonly KeepFloat32Entry[],
): { layers: LayerPrecision[]; unused: KeepFloat32Entry[] } {
  const used = new Set<KeepFloat32Entry>();
  const layers: LayerPrecision[] = [];
  const plan = (layer: tf.layers.Layer, path: string, keptBy: KeepFloat32Entry | undefined) => {
    const own = keep.find((e) => matches(e, layer));
    if (own !== undefined) used.add(own);
    const by = keptBy ?? own;
    const act = activationName(layer);
    const actEntry = act === undefined ? undefined : keep.find((e) => typeof e === 'string' && e === act);
    if (actEntry !== undefined && by === undefined) used.add(actEntry);
    const rounded = by === undefined && precision !== 'float32';
    const keptActivation = rounded && actEntry !== undefined;
    layers.push({
      layer: path,
      className: layer.getClassName(),
      compute: rounded ? precision : 'float32',
      roundedWeights: rounded ? layer.weights.map((w) => w.originalName) : [],
      roundsInputs: rounded && !INDEX_INPUT_LAYERS.has(layer.getClassName()),
      float32Activation: keptActivation ? act : undefined,
      reason:
        by !== undefined
          ? `keepFloat32 ${describeEntry(by)}`
          : keptActivation
            ? `keepFloat32 ${describeEntry(actEntry)}`
            : undefined,
      target: layer,
    });
  };
  const walk = (m: tf.LayersModel, prefix: string, keptBy: KeepFloat32Entry | undefined) => {
    for (const layer of m.layers) {
      const path = `${prefix}${layer.name}`;
      if (layer instanceof tf.LayersModel) {
        const own = keep.find((e) => matches(e, layer));
        if (own !== undefined) used.add(own);
        walk(layer, `${path}/`, keptBy ?? own);
      } else if (layer.getClassName() !== 'InputLayer') {
        plan(layer, path, keptBy);
      }
    }
  };
  walk(model, '', undefined);
  return { layers, unused: keep.filter((e) => !used.has(e)) };
}

/** One line per layer, for `trainer.describe()`. */
export function describeLayer(p: LayerPrecision): string {
  const name = `${p.layer} (${p.className})`;
  if (p.compute === 'float32') return `${name}: float32${p.reason ? ` (${p.reason})` : ''}`;
  const rounded = [
    p.roundedWeights.length > 0 ? 'weights' : undefined,
    p.roundsInputs ? 'inputs' : undefined,
    p.float32Activation ? undefined : 'outputs',
  ].filter((x): x is string => x !== undefined);
  const list = rounded.length > 1 ? `${rounded.slice(0, -1).join(', ')} and ${rounded.at(-1)}` : rounded[0];
  const notes = [
    !p.roundsInputs && p.roundedWeights.length > 0 ? 'index inputs not rounded' : undefined,
    p.float32Activation
      ? `${p.float32Activation} in float32 on the rounded pre-activation, float32 output (${p.reason})`
      : undefined,
  ].filter((x): x is string => x !== undefined);
  return `${name}: ${p.compute} ${list}${notes.length ? `; ${notes.join('; ')}` : ''}`;
}
