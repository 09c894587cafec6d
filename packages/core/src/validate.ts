import * as tf from '@tensorflow/tfjs';
import { checkEveryBatch, type DataSource, sampleForValidation, type TensorData } from './data.js';
import { TensorloopError } from './errors.js';
import { hasNonFinite } from './loop/non-finite.js';
import type { LossSpec } from './losses.js';

type Shape = readonly (number | null)[];

function fmt(shape: Shape): string {
  return `[${shape.map((d) => (d === null ? 'null' : d)).join(', ')}]`;
}

function compatible(expected: Shape, actual: readonly number[]): boolean {
  if (expected.length !== actual.length) return false;
  return expected.every((d, i) => i === 0 || d === null || d === actual[i]);
}

/**
 * Data against the model, before the first step: number of inputs, each input's shape, and the
 * target's shape for the loss in use. Names the offending input and the expected shape.
 */
export function checkShapes(model: tf.LayersModel, data: TensorData, loss: LossSpec, where: string): void {
  const xs = Array.isArray(data.x) ? data.x : [data.x];
  const inputs = model.inputs;
  if (xs.length !== inputs.length) {
    throw new TensorloopError(
      'TL_SHAPE_MISMATCH',
      `The model has ${inputs.length} input(s) (${inputs.map((i) => fmt(i.shape)).join(', ')}) but ${where} has ${xs.length} x tensor(s). Pass x as ${inputs.length === 1 ? 'one tensor' : `an array of ${inputs.length} tensors in model.inputs order`}.`,
    );
  }
  xs.forEach((x, i) => {
    const expected = inputs[i]!.shape;
    if (!compatible(expected, x.shape)) {
      throw new TensorloopError(
        'TL_SHAPE_MISMATCH',
        `${where}: x${xs.length > 1 ? `[${i}]` : ''} has shape ${fmt(x.shape)} but the model input "${inputs[i]!.name}" expects ${fmt(expected)} (null = any size). Reshape the data or fix the model's inputShape.`,
      );
    }
  });
  if (model.outputs.length !== 1) {
    throw new TensorloopError(
      'TL_MODEL_INVALID',
      `The model has ${model.outputs.length} outputs; this version of the trainer trains single-output models. Combine the outputs into one, or train with a custom loss on a single output.`,
    );
  }
  const out = model.outputs[0]!.shape;
  const y = data.y.shape;
  const yName = `${where}: y`;
  if (xs[0]!.shape[0] === 0) {
    throw new TensorloopError(
      'TL_DATA_INVALID',
      `${where} has 0 samples (x shape ${fmt(xs[0]!.shape)}). Pass at least one sample per batch.`,
    );
  }
  if (y[0] !== xs[0]!.shape[0]) {
    throw new TensorloopError(
      'TL_SHAPE_MISMATCH',
      `${yName} has ${y[0]} samples but x has ${xs[0]!.shape[0]}. x and y must have the same first dimension.`,
    );
  }
  if (loss === 'sparseCategoricalCrossentropy') {
    if (!(y.length === 1 || (y.length === 2 && y[1] === 1))) {
      throw new TensorloopError(
        'TL_SHAPE_MISMATCH',
        `${yName} has shape ${fmt(y)}; sparseCategoricalCrossentropy expects class indices of shape [n] or [n, 1]. For one-hot targets use loss 'categoricalCrossentropy'.`,
      );
    }
    return;
  }
  if (typeof loss === 'string' && !compatible(out, y)) {
    const hint =
      loss === 'categoricalCrossentropy' && y.length === 1
        ? " These look like class indices: one-hot encode them (tf.oneHot) or use loss 'sparseCategoricalCrossentropy'."
        : '';
    throw new TensorloopError(
      'TL_SHAPE_MISMATCH',
      `${yName} has shape ${fmt(y)} but the model output "${model.outputs[0]!.name}" has shape ${fmt(out)}.${hint}`,
    );
  }
}

const NUMERIC_DTYPES: ReadonlySet<string> = new Set(['float32', 'int32', 'bool']);

/** Host-side: tensors a model can train on (string and complex tensors cannot reach a Dense layer). */
export function checkDtypes(data: TensorData, where: string): void {
  const xs = Array.isArray(data.x) ? data.x : [data.x];
  const named = [...xs.map((x, i) => [xs.length > 1 ? `x[${i}]` : 'x', x] as const), ['y', data.y] as const];
  for (const [name, t] of named) {
    if (!NUMERIC_DTYPES.has(t.dtype)) {
      throw new TensorloopError(
        'TL_DATA_INVALID',
        `${where}: ${name} has dtype '${t.dtype}'; expected numbers (float32, int32 or bool). Encode the values as numbers first (a vocabulary lookup for strings, tf.real/tf.imag for complex).`,
      );
    }
  }
}

/** The check of `y`'s values a loss needs, as [description, flag that is true when some label is out of range]. */
function labelRange(loss: LossSpec, y: tf.Tensor, classes: number | null): [string, tf.Tensor] | undefined {
  if (loss === 'sparseCategoricalCrossentropy' && classes !== null) {
    const bad = tf.logicalOr(
      tf.logicalOr(tf.less(y, 0), tf.greaterEqual(y, classes)),
      tf.notEqual(y, tf.floor(y)),
    );
    return [
      `class indices (integers in [0, ${classes - 1}]: the model has ${classes} outputs) for sparseCategoricalCrossentropy`,
      tf.any(bad),
    ];
  }
  if (loss === 'categoricalCrossentropy' || loss === 'binaryCrossentropy') {
    return [`probabilities in [0, 1] for ${loss}`, tf.any(tf.logicalOr(tf.less(y, 0), tf.greater(y, 1)))];
  }
  return undefined;
}

/**
 * One read-back: refuses NaN or ±Infinity anywhere in x or y, and labels out of range for the loss
 * (a class index ≥ the number of outputs, a negative probability), naming which.
 */
export async function checkFinite(
  data: TensorData,
  where: string,
  loss?: LossSpec,
  model?: tf.LayersModel,
): Promise<void> {
  const xs = Array.isArray(data.x) ? data.x : [data.x];
  const named = [...xs.map((x, i) => [xs.length > 1 ? `x[${i}]` : 'x', x] as const), ['y', data.y] as const];
  const out = model?.outputs[0]?.shape;
  const classes = out ? (out[out.length - 1] ?? null) : null;
  let range: string | undefined;
  const flags = tf.tidy(() => {
    const nonFinite = named.map(([, t]) =>
      t.dtype === 'float32' ? hasNonFinite(t) : tf.scalar(false, 'bool'),
    );
    const labels = loss === undefined ? undefined : labelRange(loss, tf.cast(data.y, 'float32'), classes);
    range = labels?.[0];
    return tf.stack(labels ? [...nonFinite, labels[1]] : nonFinite);
  });
  const bad = await flags.data();
  flags.dispose();
  const index = bad.findIndex((b) => b !== 0);
  if (index >= 0 && index < named.length) {
    throw new TensorloopError(
      'TL_DATA_NOT_FINITE',
      `${where}: ${named[index]![0]} contains NaN or Infinity. Clean or impute the data before training (tf.where(tf.isNaN(t), fill, t)); set checkData: false to skip this check.`,
    );
  }
  if (index >= 0) {
    throw new TensorloopError(
      'TL_DATA_INVALID',
      `${where}: y has labels out of range: expected ${range}. Fix the labels (or the loss, or the model's output units); set checkData: false to skip this check.`,
    );
  }
}

/**
 * Shapes, dtypes (and, with `checkData`, finiteness and label range) of a source's first sample,
 * before the first step; afterwards the shapes and dtypes of every batch an iterable yields.
 */
export async function preflight(
  model: tf.LayersModel,
  loss: LossSpec,
  source: DataSource,
  where: string,
  checkData: boolean,
): Promise<void> {
  const sample = await sampleForValidation(source);
  if (!sample) return;
  checkDtypes(sample, where);
  checkShapes(model, sample, loss, where);
  if (checkData) await checkFinite(sample, where, loss, model);
  checkEveryBatch(source, (batch, index) => {
    const at = `${where}, batch ${index}`;
    checkDtypes(batch, at);
    checkShapes(model, batch, loss, at);
  });
}
