import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from './errors.js';
import { shownValue } from './shown-value.js';
import type { Time } from './time.js';

/** What a custom loss can read each step: hyperparameters such as `'lossWeight.aux'`, and time. */
export interface LossFnContext {
  readonly hparams: { get(name: string, scope?: { readonly group?: string }): number };
  readonly time: Time;
}

/** A loss: per-sample values (reduced with a mean) or a scalar. */
export type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor, ctx: LossFnContext) => tf.Tensor;

export type LossName =
  | 'categoricalCrossentropy'
  | 'sparseCategoricalCrossentropy'
  | 'binaryCrossentropy'
  | 'meanSquaredError'
  | 'mse'
  | 'meanAbsoluteError'
  | 'mae'
  | 'meanAbsolutePercentageError'
  | 'mape'
  | 'huber';

export type LossSpec = LossName | LossFn;

/** Sparse labels `[n]` or `[n, 1]` against predictions `[n, classes]`, as Keras computes it. */
export function sparseCategoricalCrossentropy(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const classes = yPred.shape[yPred.shape.length - 1]!;
    const labels = tf.cast(tf.reshape(yTrue, [-1]), 'int32');
    const oneHot = tf.reshape(tf.oneHot(labels, classes), yPred.shape);
    return tf.metrics.categoricalCrossentropy(oneHot, yPred);
  });
}

/** Keras `Huber` with delta 1. */
export function huber(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const err = tf.abs(tf.sub(yPred, yTrue));
    const quadratic = tf.minimum(err, 1);
    const linear = tf.sub(err, quadratic);
    return tf.mean(tf.add(tf.mul(0.5, tf.square(quadratic)), linear), -1);
  });
}

const LOSSES: Record<LossName, (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor> = {
  categoricalCrossentropy: tf.metrics.categoricalCrossentropy,
  sparseCategoricalCrossentropy,
  binaryCrossentropy: tf.metrics.binaryCrossentropy,
  meanSquaredError: tf.metrics.meanSquaredError,
  mse: tf.metrics.meanSquaredError,
  meanAbsoluteError: tf.metrics.meanAbsoluteError,
  mae: tf.metrics.meanAbsoluteError,
  meanAbsolutePercentageError: tf.metrics.meanAbsolutePercentageError,
  mape: tf.metrics.meanAbsolutePercentageError,
  huber,
};

export const LOSS_NAMES = Object.keys(LOSSES) as LossName[];

export interface ResolvedLoss {
  readonly name: string;
  /** The built-in loss's name (`'mse'`); undefined for a function (what a gradient source in a worker rebuilds from). */
  readonly builtin?: string;
  /** Returns the mean loss over the batch as a scalar. */
  readonly fn: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;
}

export function resolveLoss(spec: LossSpec | undefined, ctx: LossFnContext): ResolvedLoss {
  if (spec === undefined) {
    throw new TensorloopError(
      'TL_LOSS_UNKNOWN',
      `No loss given. Pass loss: one of ${LOSS_NAMES.join(', ')}, or a function (yTrue, yPred) => tensor.`,
    );
  }
  if (typeof spec === 'function') {
    return { name: spec.name || 'loss', fn: (t, p) => reduceMean(spec(t, p, ctx)) };
  }
  // Only a string indexes the table (an object key would be converted, and may throw doing it).
  const fn =
    typeof spec === 'string'
      ? (LOSSES as Record<string, ((t: tf.Tensor, p: tf.Tensor) => tf.Tensor) | undefined>)[spec]
      : undefined;
  if (!fn) {
    throw new TensorloopError(
      'TL_LOSS_UNKNOWN',
      `Unknown loss ${shownValue(spec)}. Known losses: ${LOSS_NAMES.join(', ')}; or pass a function (yTrue, yPred) => tensor.`,
    );
  }
  return { name: spec, builtin: spec, fn: (t, p) => reduceMean(fn(t, p)) };
}

function reduceMean(value: tf.Tensor): tf.Scalar {
  return (value.rank === 0 ? value : tf.mean(value)) as tf.Scalar;
}
