import * as tf from '@tensorflow/tfjs';
import type { PendingBatch } from './data.js';
import type { HookRunner } from './hooks.js';
import type { ResolvedLoss } from './losses.js';
import type { ResolvedMetric } from './metrics.js';
import { type AnyOptimizer, isTensorloopOptimizer } from './optimizer-seam.js';
import type { Batch, GradientMap } from './plugin.js';
import type { TrainableWeight } from './variables.js';

export interface StepDeps {
  readonly model: tf.LayersModel;
  readonly loss: ResolvedLoss;
  readonly metrics: readonly ResolvedMetric[];
  readonly optimizer: AnyOptimizer;
  readonly weights: readonly TrainableWeight[];
  /** Core variable name → weight name, for mapping `tf.variableGrads` results. */
  readonly nameOfVariable: ReadonlyMap<string, string>;
  readonly hooks: HookRunner;
  /** Run the model on a batch: `model.apply(x, { training: true })`, with frozen BatchNorm in inference mode. */
  readonly forward: (x: tf.Tensor | tf.Tensor[]) => tf.Tensor;
}

export interface StepOutput {
  /** [loss, ...metrics] of this batch, before loss transforms (what logs report). Caller disposes. */
  readonly values: tf.Tensor1D;
  /** The batch loss as a scalar the caller disposes. */
  readonly loss: tf.Scalar;
  /** False when nothing was trainable (no optimizer step was taken). */
  readonly stepped: boolean;
}

function lossAndMetrics(
  deps: StepDeps,
  batch: Batch,
  yPred: tf.Tensor,
): { loss: tf.Scalar; values: tf.Scalar[] } {
  let loss = deps.loss.fn(batch.y, yPred);
  const regularizers = deps.model.calculateLosses();
  if (regularizers.length > 0) loss = tf.addN([loss, ...regularizers]) as tf.Scalar;
  const values = [loss, ...deps.metrics.map((m) => m.fn(batch.y, yPred))];
  return { loss, values };
}

/**
 * One synchronous training step inside one `tf.tidy` (DESIGN §3):
 * batch → transformBatch* → forward (training) → loss (+ regularizers) → transformLoss* →
 * gradients over the fixed variable list → transformGradients* → optimizer → afterOptimizerStep*.
 */
export function trainStep(deps: StepDeps, pending: PendingBatch): StepOutput {
  const { hooks } = deps;
  return tf.tidy(() => {
    const batch = hooks.transform('transformBatch', pending.materialize());
    const trainable = deps.weights.filter((w) => w.variable.trainable);
    let kept: tf.Scalar[] = [];
    if (trainable.length === 0) {
      const yPred = deps.forward(batch.x);
      kept = lossAndMetrics(deps, batch, yPred).values;
      return { values: tf.stack(kept) as tf.Tensor1D, loss: kept[0]!, stepped: false };
    }
    const { value: lossToDiff, grads } = tf.variableGrads(
      () => {
        const yPred = deps.forward(batch.x);
        const { loss, values } = lossAndMetrics(deps, batch, yPred);
        // Inside the gradient tape every intermediate is disposed; keep what the logs report.
        kept = values.map((v) => tf.keep(v));
        return hooks.transform('transformLoss', loss, { batch, yPred });
      },
      deps.weights.map((w) => w.variable),
    );
    let named: GradientMap = new Map();
    for (const w of trainable) {
      const g = grads[w.variable.name];
      if (g) named.set(w.name, g);
    }
    named = hooks.transform('transformGradients', named);
    applyGradients(deps, named);
    hooks.transform('afterOptimizerStep', { grads: named, loss: lossToDiff });
    const values = tf.stack(kept) as tf.Tensor1D;
    const loss = tf.clone(kept[0]!);
    tf.dispose(kept);
    return { values, loss, stepped: true };
  });
}

function applyGradients(deps: StepDeps, grads: GradientMap): void {
  const { optimizer } = deps;
  if (isTensorloopOptimizer(optimizer)) {
    optimizer.applyGradients(grads);
    return;
  }
  // tfjs optimizers key their slots by position: always hand them the full fixed list, with null
  // for frozen weights (exactly what optimizer.minimize(f, true, varList) does).
  const list = deps.weights.map((w) => ({ name: w.variable.name, tensor: grads.get(w.name) ?? null }));
  optimizer.applyGradients(list as unknown as Parameters<tf.Optimizer['applyGradients']>[0]);
}
