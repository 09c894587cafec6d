import * as tf from '@tensorflow/tfjs';
import type { HookRunner } from '../hooks.js';
import { type LossName, resolveLoss } from '../losses.js';
import { type MetricName, resolveMetrics } from '../metrics.js';
import type { Batch, GradientMap, Plugin } from '../plugin.js';
import type { Time } from '../time.js';
import type { TrainableWeight } from '../variables.js';
import { type ForwardDeps, forwardLossMetrics } from './forward.js';
import type { GradientResult, GradientSource } from './gradient-source-api.js';

/** The registered plugin that provides a gradient source (the first, in plugin order), if any. */
export function gradientSourceOf(plugins: readonly Plugin[]): GradientSource | undefined {
  for (const p of plugins) if (p.gradientSource) return p.gradientSource;
  return undefined;
}

export interface GradientDeps extends ForwardDeps {
  readonly hooks: HookRunner;
  readonly gradientSource?: () => GradientSource | undefined;
}

/** Loss, metric values and gradients of one batch: from the plugins' gradient source, or computed here. */
export function batchGradients(
  deps: GradientDeps,
  batch: Batch,
  weights: readonly TrainableWeight[],
  lossDivisor: number,
): GradientResult {
  const computeLocal = (b: Batch, divisor: number = lossDivisor) => localGradients(deps, b, weights, divisor);
  const source = deps.gradientSource?.();
  if (!source) return computeLocal(batch);
  return source.computeGradients({
    batch,
    weights,
    lossDivisor,
    lossName: deps.loss.builtin,
    metricNames: deps.metrics.map((m) => m.builtin),
    transformsLoss: deps.hooks.has('transformLoss'),
    computeLocal,
  });
}

function localGradients(
  deps: GradientDeps,
  batch: Batch,
  weights: readonly TrainableWeight[],
  lossDivisor: number,
): GradientResult {
  let kept: tf.Scalar[] = [];
  let taped: { value: tf.Scalar; grads: tf.NamedTensorMap };
  try {
    taped = tf.variableGrads(
      () => {
        const { yPred, loss, values } = forwardLossMetrics(deps, batch, { training: true });
        // Inside the gradient tape every intermediate is disposed; keep what the logs report.
        kept = values.map((v) => tf.keep(v));
        const transformed = deps.hooks.transform('transformLoss', loss, { batch, yPred });
        return lossDivisor === 1 ? transformed : (tf.div(transformed, lossDivisor) as tf.Scalar);
      },
      weights.map((w) => w.variable),
    );
  } catch (error) {
    // A transformLoss or loss that throws: the kept values never reach the caller (the tape is the step's to release).
    tf.dispose(kept);
    throw error;
  }
  const { value: loss, grads } = taped;
  const named: GradientMap = new Map();
  for (const w of weights) {
    if (!w.variable.trainable) continue;
    const g = grads[w.variable.name];
    if (g) named.set(w.name, g);
  }
  return { values: kept, loss, grads: named };
}

/** The trainer's built-in loss `name` as the trainer resolves it (for a gradient source in another thread). */
export function resolveBuiltinLoss(name: string): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar {
  return resolveLoss(name as LossName, { hparams: { get: () => Number.NaN }, time: NO_TIME }).fn;
}

/** A built-in metric as the trainer resolves it next to loss `lossName` (`accuracy` depends on it). */
export function resolveBuiltinMetric(
  name: string,
  lossName: string | undefined,
): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar {
  return resolveMetrics([name as MetricName], lossName as LossName | undefined)[0]!.fn;
}

const NO_TIME: Time = {
  epoch: 0,
  step: 0,
  batch: 0,
  sample: 0,
  fitIndex: 0,
  fitEpoch: 0,
  fitStep: 0,
  stage: 0,
  fraction: 0,
  epochBatch: 0,
  stageEpoch: 0,
  stageStep: 0,
};
