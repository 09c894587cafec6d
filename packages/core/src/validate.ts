import * as tf from '@tensorflow/tfjs';
import { type DataSource, sampleForValidation, type TensorData } from './data.js';
import { TensorloopError } from './errors.js';
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

/** One read-back: refuses NaN or ±Infinity anywhere in x or y, naming which. */
export async function checkFinite(data: TensorData, where: string): Promise<void> {
  const xs = Array.isArray(data.x) ? data.x : [data.x];
  const named = [...xs.map((x, i) => [xs.length > 1 ? `x[${i}]` : 'x', x] as const), ['y', data.y] as const];
  const flags = tf.tidy(() =>
    tf.stack(
      named.map(([, t]) =>
        t.dtype === 'float32' ? tf.logicalNot(tf.all(tf.isFinite(t))) : tf.scalar(false, 'bool'),
      ),
    ),
  );
  const bad = await flags.data();
  flags.dispose();
  const index = bad.findIndex((b) => b !== 0);
  if (index >= 0) {
    throw new TensorloopError(
      'TL_DATA_NOT_FINITE',
      `${where}: ${named[index]![0]} contains NaN or Infinity. Clean or impute the data before training (tf.where(tf.isNaN(t), fill, t)); set checkData: false to skip this check.`,
    );
  }
}

/** Shapes (and, with `checkData`, finiteness) of a source's first sample, before the first step. */
export async function preflight(
  model: tf.LayersModel,
  loss: LossSpec,
  source: DataSource,
  where: string,
  checkData: boolean,
): Promise<void> {
  const sample = await sampleForValidation(source);
  if (!sample) return;
  checkShapes(model, sample, loss, where);
  if (checkData) await checkFinite(sample, where);
}
