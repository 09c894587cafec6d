import * as tf from '@tensorflow/tfjs';
import type { ResolvedLoss } from '../losses.js';
import type { ResolvedMetric } from '../metrics.js';
import type { Batch } from '../plugin.js';

export interface ForwardDeps {
  readonly model: tf.LayersModel;
  readonly loss: ResolvedLoss;
  readonly metrics: readonly ResolvedMetric[];
}

export interface ForwardOutput {
  readonly yPred: tf.Tensor;
  /** The loss with the model's regularizers added (what Keras reports and what is differentiated). */
  readonly loss: tf.Scalar;
  /** `[loss, ...metrics]`, in the order of the log keys. */
  readonly values: tf.Scalar[];
}

/**
 * The one forward block of training and evaluation: model (training mode or inference; a frozen
 * BatchNorm infers in both), loss plus the model's regularizers, metrics. Call it inside a tidy.
 */
export function forwardLossMetrics(
  deps: ForwardDeps,
  batch: Batch,
  options: { readonly training: boolean },
): ForwardOutput {
  const yPred = deps.model.apply(batch.x, { training: options.training }) as tf.Tensor;
  let loss = deps.loss.fn(batch.y, yPred);
  const regularizers = deps.model.calculateLosses();
  if (regularizers.length > 0) loss = tf.addN([loss, ...regularizers]) as tf.Scalar;
  return { yPred, loss, values: [loss, ...deps.metrics.map((m) => m.fn(batch.y, yPred))] };
}
