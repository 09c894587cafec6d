import * as tf from '@tensorflow/tfjs';
import type { PendingBatch } from '../data.js';
import type { HookRunner } from '../hooks.js';
import { clipGradientsByGlobalNorm, clipGradientsByValue } from '../optim/clip.js';
import { type AnyOptimizer, isTensorloopOptimizer } from '../optimizer-seam.js';
import type { GradientMap } from '../plugin.js';
import type { TrainableWeight } from '../variables.js';
import type { GradientAccumulator } from './accumulation.js';
import { forwardLossMetrics } from './forward.js';
import { batchGradients, type GradientDeps } from './gradient-source.js';
import type { NonFiniteWatch } from './non-finite.js';
import { applyGated, type PendingGate, type StepGateMode } from './step-gate.js';
import { withSeededMathRandom } from './step-random.js';
import { releaseTapeAfterError } from './tape-release.js';

export interface GradientClipOptions {
  /** Scale all gradients so their global L2 norm is at most this (torch `clip_grad_norm_`). */
  readonly maxNorm?: number;
  /** Clamp every gradient element to [−maxValue, maxValue] (torch `clip_grad_value_`). */
  readonly maxValue?: number;
}

export interface StepDeps extends GradientDeps {
  readonly optimizer: AnyOptimizer;
  readonly weights: readonly TrainableWeight[];
  readonly hooks: HookRunner;
  readonly clip: GradientClipOptions;
  /** Push hyperparameter changes into the optimizer before it steps. */
  readonly syncHyperparams: () => void;
  /** How a step a plugin gates (`transformStepGate`) is skipped: read on the host, or on the device. */
  readonly gateMode: () => StepGateMode;
  /** `onNonFinite`: watches each step's loss and gradients on the device (`non-finite.ts`). */
  readonly nonFinite?: NonFiniteWatch;
}

/** What one optimizer step did, as far as the host knows. */
export interface OptimizerStepOutcome {
  /** True when the optimizer stepped (with a device gate: unless the pending gate says otherwise). */
  readonly stepped: boolean;
  /** A step applied through a device gate: whether it took effect is learnt at the next read-back. */
  readonly pending: PendingGate | undefined;
}

export interface StepOutput extends OptimizerStepOutcome {
  /** [loss, ...metrics] of this batch, before loss transforms (what logs report). Caller disposes. */
  readonly values: tf.Tensor1D;
}

const NOT_STEPPED: OptimizerStepOutcome = { stepped: false, pending: undefined };

/**
 * One synchronous training step inside one `tf.tidy` (DESIGN §3):
 * batch → transformBatch* → forward (training) → loss (+ regularizers) → transformLoss* →
 * gradients over the fixed variable list → transformGradients* → [accumulate] → transformStepGate* →
 * clip → optimizer → afterOptimizerStep*. Random ops inside it draw from `seed` (`step-random.ts`).
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
  // The outcome leaves the tidy by the closure (its pending gate is kept), the row as the result.
  let outcome: OptimizerStepOutcome = NOT_STEPPED;
  // Kept past the gradient tape (the logs' values): released here if a hook throws before the row owns them.
  let kept: tf.Scalar[] = [];
  try {
    return { values: tidyStep(), ...outcome };
  } catch (error) {
    tf.dispose(kept);
    releaseTapeAfterError();
    throw error;
  }

  function tidyStep(): tf.Tensor1D {
    return tf.tidy(() => {
      const batch = hooks.transform('transformBatch', pending.materialize());
      const trainable = deps.weights.filter((w) => w.variable.trainable);
      if (trainable.length === 0) {
        kept = forwardLossMetrics(deps, batch, { training: true }).values;
        return tf.stack(kept) as tf.Tensor1D;
      }
      const gradients = batchGradients(deps, batch, deps.weights, accumulator?.k ?? 1);
      kept = gradients.values;
      const lossToDiff = gradients.loss;
      const named = hooks.transform('transformGradients', gradients.grads);
      if (accumulator) {
        accumulator.add(named);
        outcome = accumulator.full ? applyAccumulated(deps, accumulator, lossToDiff, kept[0]) : NOT_STEPPED;
      } else {
        outcome = optimizerStep(deps, named, lossToDiff, kept[0]);
      }
      // One op: a reshape (no copy) when there is only the loss.
      const row = (kept.length === 1 ? tf.reshape(kept[0]!, [1]) : tf.stack(kept)) as tf.Tensor1D;
      tf.dispose(kept);
      kept = [];
      return row;
    });
  }
}

/** Apply what an accumulator holds (the epoch ended inside a window). */
export function flushAccumulated(deps: StepDeps, accumulator: GradientAccumulator): OptimizerStepOutcome {
  if (accumulator.pending === 0) return NOT_STEPPED;
  let outcome = NOT_STEPPED;
  tf.tidy(() => {
    outcome = applyAccumulated(deps, accumulator, undefined, undefined);
  });
  return outcome;
}

/** One optimizer step over a window's summed gradients; a skipped step drops the whole window. */
function applyAccumulated(
  deps: StepDeps,
  accumulator: GradientAccumulator,
  loss: tf.Scalar | undefined,
  rawLoss: tf.Scalar | undefined,
): OptimizerStepOutcome {
  const summed = accumulator.take();
  try {
    return optimizerStep(deps, summed, loss, rawLoss);
  } finally {
    tf.dispose([...summed.values()]);
  }
}

/**
 * transformStepGate* → clip → optimizer → afterOptimizerStep*. A gated step is skipped either on
 * the host (`gateMode() === 'host'`: one read of one scalar, before anything is applied) or on the
 * device (every variable the optimizer assigns goes through `where(gate, new, old)`; the host learns
 * the outcome at the next read-back).
 */
function optimizerStep(
  deps: StepDeps,
  grads: GradientMap,
  loss: tf.Scalar | undefined,
  rawLoss: tf.Scalar | undefined,
): OptimizerStepOutcome {
  const pluginGate = stepGate(deps, grads, loss);
  const gate = deps.nonFinite ? deps.nonFinite.observe(rawLoss, grads, pluginGate) : pluginGate;
  const onDevice = gate !== undefined && deps.gateMode() === 'device';
  if (gate !== undefined && !onDevice && gate.dataSync()[0] === 0) return NOT_STEPPED;
  let final = grads;
  if (deps.clip.maxValue !== undefined) final = clipGradientsByValue(final, deps.clip.maxValue);
  if (deps.clip.maxNorm !== undefined) final = clipGradientsByGlobalNorm(final, deps.clip.maxNorm).grads;
  deps.syncHyperparams();
  if (onDevice) applyGated(gate, () => applyUpdate(deps, final));
  else applyUpdate(deps, final);
  deps.hooks.notify('afterOptimizerStep', { grads: final, loss, applied: gate });
  if (!onDevice) return { stepped: true, pending: undefined };
  // A clone (shared storage): the gate may be a plugin's own tensor, and this one is disposed later.
  return { stepped: true, pending: { flag: tf.keep(tf.clone(gate)), variables: [...final.keys()] } };
}

/**
 * The gate plugins return for this step (a bool scalar; the hook runner checks each handler's), or
 * undefined when no plugin gates steps.
 */
function stepGate(deps: StepDeps, grads: GradientMap, loss: tf.Scalar | undefined): tf.Scalar | undefined {
  if (!deps.hooks.has('transformStepGate')) return undefined;
  return deps.hooks.transform('transformStepGate', tf.scalar(true, 'bool'), { grads, loss });
}

function applyUpdate(deps: StepDeps, grads: GradientMap): void {
  const { optimizer } = deps;
  if (isTensorloopOptimizer(optimizer)) {
    optimizer.applyGradients(grads);
  } else {
    // tfjs optimizers key their slots by position: always hand them the full fixed list, with null
    // for frozen weights (exactly what optimizer.minimize(f, true, varList) does).
    const list = deps.weights.map((w) => ({ name: w.variable.name, tensor: grads.get(w.name) ?? null }));
    optimizer.applyGradients(list as unknown as Parameters<tf.Optimizer['applyGradients']>[0]);
  }
}
