import * as tf from '@tensorflow/tfjs';
import type { PendingBatch } from '../data.js';
import type { HookRunner } from '../hooks.js';
import { clipGradientsByGlobalNorm, clipGradientsByValue } from '../optim/clip.js';
import { type AnyOptimizer, isTensorloopOptimizer } from '../optimizer-seam.js';
import type { GradientMap } from '../plugin.js';
import type { TrainableWeight } from '../variables.js';
import type { GradientAccumulator } from './accumulation.js';
import { type ForwardDeps, forwardLossMetrics } from './forward.js';
import { withSeededMathRandom } from './step-random.js';

export interface GradientClipOptions {
  /** Scale all gradients so their global L2 norm is at most this (torch `clip_grad_norm_`). */
  readonly maxNorm?: number;
  /** Clamp every gradient element to [−maxValue, maxValue] (torch `clip_grad_value_`). */
  readonly maxValue?: number;
}

export interface StepDeps extends ForwardDeps {
  readonly optimizer: AnyOptimizer;
  readonly weights: readonly TrainableWeight[];
  readonly hooks: HookRunner;
  readonly clip: GradientClipOptions;
  /** Push hyperparameter changes into the optimizer before it steps. */
  readonly syncHyperparams: () => void;
}

export interface StepOutput {
  /** [loss, ...metrics] of this batch, before loss transforms (what logs report). Caller disposes. */
  readonly values: tf.Tensor1D;
  /** True when the optimizer stepped after this micro-batch. */
  readonly stepped: boolean;
}

/**
 * One synchronous training step inside one `tf.tidy` (DESIGN §3):
 * batch → transformBatch* → forward (training) → loss (+ regularizers) → transformLoss* →
 * gradients over the fixed variable list → transformGradients* → [accumulate] → clip →
 * optimizer → afterOptimizerStep*. Random ops inside it draw from `seed` (`step-random.ts`).
 */
export function trainStep(
  deps: StepDeps,
  pending: PendingBatch,
  accumulator: GradientAccumulator | undefined,
  seed: number,
): StepOutput {
  return withSeededMathRandom(seed, () => stepInTidy(deps, pending, accumulator));
}

function stepInTidy(
  deps: StepDeps,
  pending: PendingBatch,
  accumulator: GradientAccumulator | undefined,
): StepOutput {
  const { hooks } = deps;
  return tf.tidy(() => {
    const batch = hooks.transform('transformBatch', pending.materialize());
    const trainable = deps.weights.filter((w) => w.variable.trainable);
    let kept: tf.Scalar[] = [];
    if (trainable.length === 0) {
      kept = forwardLossMetrics(deps, batch, { training: true }).values;
      return { values: tf.stack(kept) as tf.Tensor1D, stepped: false };
    }
    const { value: lossToDiff, grads } = tf.variableGrads(
      () => {
        const { yPred, loss, values } = forwardLossMetrics(deps, batch, { training: true });
        // Inside the gradient tape every intermediate is disposed; keep what the logs report.
        kept = values.map((v) => tf.keep(v));
        const transformed = hooks.transform('transformLoss', loss, { batch, yPred });
        return accumulator ? (tf.div(transformed, accumulator.k) as tf.Scalar) : transformed;
      },
      deps.weights.map((w) => w.variable),
    );
    let named: GradientMap = new Map();
    for (const w of trainable) {
      const g = grads[w.variable.name];
      if (g) named.set(w.name, g);
    }
    named = hooks.transform('transformGradients', named);
    let stepped = true;
    if (accumulator) {
      accumulator.add(named);
      stepped = accumulator.full;
      if (stepped) {
        const summed = accumulator.take();
        optimizerStep(deps, summed, lossToDiff);
        tf.dispose([...summed.values()]);
      }
    } else {
      optimizerStep(deps, named, lossToDiff);
    }
    // One op: a reshape (no copy) when there is only the loss.
    const values = (kept.length === 1 ? tf.reshape(kept[0]!, [1]) : tf.stack(kept)) as tf.Tensor1D;
    tf.dispose(kept);
    return { values, stepped };
  });
}

/** Apply what an accumulator holds (the epoch ended inside a window). Returns true if it stepped. */
export function flushAccumulated(deps: StepDeps, accumulator: GradientAccumulator): boolean {
  if (accumulator.pending === 0) return false;
  tf.tidy(() => {
    const summed = accumulator.take();
    optimizerStep(deps, summed, undefined);
    tf.dispose([...summed.values()]);
  });
  return true;
}

function optimizerStep(deps: StepDeps, grads: GradientMap, loss: tf.Scalar | undefined): void {
  let final = grads;
  if (deps.clip.maxValue !== undefined) final = clipGradientsByValue(final, deps.clip.maxValue);
  if (deps.clip.maxNorm !== undefined) final = clipGradientsByGlobalNorm(final, deps.clip.maxNorm).grads;
  deps.syncHyperparams();
  const { optimizer } = deps;
  if (isTensorloopOptimizer(optimizer)) {
    optimizer.applyGradients(final);
  } else {
    // tfjs optimizers key their slots by position: always hand them the full fixed list, with null
    // for frozen weights (exactly what optimizer.minimize(f, true, varList) does).
    const list = deps.weights.map((w) => ({ name: w.variable.name, tensor: final.get(w.name) ?? null }));
    optimizer.applyGradients(list as unknown as Parameters<tf.Optimizer['applyGradients']>[0]);
  }
  deps.hooks.notify('afterOptimizerStep', { grads: final, loss });
}
