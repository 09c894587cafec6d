import type * as tf from '@tensorflow/tfjs';
import type { TrainableWeight } from '../variables.js';

// Types only, importing nothing of the plugin API, so `plugin.ts` can name them without a cycle
// (the batch and the gradient map are spelled out: the same types as `Batch` and `GradientMap`).

/**
 * The seam for "who computes loss, metric values and gradients for this batch" (issue 21 point 4).
 * By default the step does it on this thread (`computeLocal`). A plugin with a `gradientSource`
 * (e.g. `@tensorloop/data-parallel`, which splits the batch over worker threads) takes over that
 * part only: everything before (transformBatch) and after (transformGradients, accumulation, the
 * step gate, clipping, the ONE optimizer step, afterOptimizerStep) stays in the step, on this
 * thread. It runs synchronously inside the step's `tf.tidy` (a source may block on
 * `Atomics.wait`); tensors it returns are owned by that tidy.
 */
export interface GradientSource {
  computeGradients(request: GradientRequest): GradientResult;
}

export interface GradientRequest {
  /** The batch after `transformBatch`. */
  readonly batch: SourceBatch;
  /** Every trainable-capable weight in the trainer's fixed order; `variable.trainable` is current (frozen: false). */
  readonly weights: readonly TrainableWeight[];
  /** Divide the loss by this before differentiating (1, or k under gradient accumulation). */
  readonly lossDivisor: number;
  /** The loss's built-in name when it is one (a remote worker can rebuild it: `resolveBuiltinLoss`); undefined for a function. */
  readonly lossName: string | undefined;
  /** Each metric's built-in name, or undefined for a function metric; in log-key order. */
  readonly metricNames: readonly (string | undefined)[];
  /** True when a plugin transforms the loss (`transformLoss`, e.g. AMP): that runs only in `computeLocal`. */
  readonly transformsLoss: boolean;
  /**
   * What the trainer itself computes for `batch` (all of it or a shard), on this thread, with
   * `transformLoss`. Its `values` are kept (they outlive the gradient tape): return them, or dispose them.
   * `lossDivisor` (default: the request's) replaces the divisor the loss is divided by before it is
   * differentiated: a source that weights shards by size passes `request.lossDivisor / share`, so the
   * shard's gradients arrive already weighted and the shards only need adding up.
   */
  computeLocal(batch: SourceBatch, lossDivisor?: number): GradientResult;
}

export interface GradientResult {
  /** `[loss, ...metrics]` of the batch (means over its samples), before loss transforms. */
  readonly values: tf.Scalar[];
  /** The loss that was differentiated (after transforms and `lossDivisor`). */
  readonly loss: tf.Scalar;
  /** Gradients of the trainable weights by weight name. */
  readonly grads: Map<string, tf.Tensor>;
}

/** A training batch (core's `Batch`). */
export interface SourceBatch {
  readonly x: tf.Tensor | tf.Tensor[];
  readonly y: tf.Tensor;
}
