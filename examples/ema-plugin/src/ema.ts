// An exponential moving average of the weights, as a package `tfjs-loop-plugin-ema` would publish it:
// written against @tensorloop/core's public types and @tensorflow/tfjs only.
//
// After every optimizer step: shadow ← d·shadow + (1 − d)·weight, for every weight of the model
// (BatchNorm statistics included, as timm's ModelEmaV2). Validation runs with the averaged weights
// swapped in (the training weights come back right after), and the fit ends with the averaged
// weights in the model. The shadow weights are checkpointed (stateTensors, in plugins.bin), so a
// resumed run averages exactly as an uninterrupted one.
import * as tf from '@tensorflow/tfjs';
import { definePlugin, type Plugin, readState, TensorloopError } from '@tensorloop/core';

export const NAME = 'tfjs-loop-plugin-ema';

export interface EmaOptions {
  /** Decay per optimizer step. Default 0.999 (timm, TF's ExponentialMovingAverage users). */
  readonly decay?: number;
  /**
   * Ramp the decay up over the first updates, d = min(decay, (1 + n) / (10 + n)) after n updates
   * (TF's `num_updates`), so early averages are not dominated by the random initialization. Default true.
   */
  readonly warmup?: boolean;
  /** Evaluate the validation data with the averaged weights. Default true. */
  readonly validate?: boolean;
  /** Leave the averaged weights in the model when a fit ends (not when it fails). Default true. */
  readonly swapAtEnd?: boolean;
}

export interface EmaState {
  /** Optimizer steps averaged so far (all fits). */
  readonly updates: number;
  /** The configured decay, checked on resume. */
  readonly decay: number;
}

export interface EmaApi {
  /** Optimizer steps averaged so far. */
  updates(): number;
  /** The decay of the next update. */
  currentDecay(): number;
  /** Writes the averaged weights into a model of the same architecture (e.g. the trainer's, between fits). */
  copyTo(model: tf.LayersModel): void;
}

declare module '@tensorloop/core' {
  interface PluginStateMap {
    'tfjs-loop-plugin-ema': EmaState;
  }
  interface PluginApiMap {
    'tfjs-loop-plugin-ema': EmaApi;
  }
}

function invalid(message: string): never {
  throw new TensorloopError('TL_OPTION_INVALID', `${NAME}: ${message}`, { plugin: NAME });
}

export function ema(options: EmaOptions = {}): Plugin<typeof NAME> {
  const decay = options.decay ?? 0.999;
  if (!(decay > 0 && decay < 1)) invalid(`decay must be in (0, 1); got ${decay}.`);
  const warmup = options.warmup ?? true;
  const validate = options.validate ?? true;
  const swapAtEnd = options.swapAtEnd ?? true;
  let updates = 0;
  /** Shadow weights by weight name: the plugin's own variables (not trainable). */
  let shadow: Map<string, tf.Variable> | undefined;
  /** The training weights while validation runs with the average. */
  let parked: Map<string, tf.Tensor> | undefined;

  const decayAt = (n: number) => (warmup ? Math.min(decay, (1 + n) / (10 + n)) : decay);
  const dropShadow = () => {
    for (const v of shadow?.values() ?? []) v.dispose();
    shadow = undefined;
  };
  const writeAverage = (model: tf.LayersModel) => {
    if (!shadow) return;
    for (const w of model.weights) {
      const avg = shadow.get(w.originalName);
      if (!avg) {
        throw new TensorloopError(
          'TL_CHECKPOINT_INVALID',
          `[${NAME}] the model has a weight "${w.originalName}" the average does not: name your layers so weight names match the run that made the average.`,
          { plugin: NAME },
        );
      }
      w.write(avg);
    }
  };
  const unpark = (model: tf.LayersModel) => {
    if (!parked) return;
    for (const w of model.weights) w.write(parked.get(w.originalName)!);
    tf.dispose([...parked.values()]);
    parked = undefined;
  };

  return definePlugin({
    name: NAME,
    version: '1.0.0',
    api: {
      updates: () => updates,
      currentDecay: () => decayAt(updates),
      copyTo: (model) => writeAverage(model),
    },
    // It swaps the average in for validation and at the end of a fit: declared, so another writer at
    // the same point (early stopping's restore-best) is a conflict until one orders itself.
    writesWeights: [...(validate ? ['validation' as const] : []), ...(swapAtEnd ? ['fitEnd' as const] : [])],
    describe: () => [`decay ${decay}${warmup ? ' (ramped up over the first updates)' : ''}`],
    onFitStart(ctx) {
      // First fit (or a state without tensors): the average starts at the current weights.
      if (!shadow) {
        shadow = new Map(ctx.model.weights.map((w) => [w.originalName, tf.variable(w.read(), false)]));
      }
    },
    afterOptimizerStep(ctx, { applied }) {
      // Inside the step's tf.tidy: the temporaries go with it; assign keeps the new values. A step a
      // gate skipped on the device (`applied` false: AMP's overflow skip) leaves the average as it was.
      const d = decayAt(updates);
      for (const w of ctx.model.weights) {
        const avg = shadow!.get(w.originalName)!;
        const next = tf.add(tf.mul(avg, d), tf.mul(w.read(), 1 - d));
        avg.assign(applied ? tf.where(applied, next, avg) : next);
      }
      updates += 1;
      return undefined;
    },
    onValidationStart(ctx) {
      if (!validate || !shadow) return;
      parked = new Map(ctx.model.weights.map((w) => [w.originalName, tf.clone(w.read())]));
      writeAverage(ctx.model);
    },
    onValidationEnd(ctx) {
      unpark(ctx.model);
    },
    onFitEnd(ctx, event) {
      unpark(ctx.model); // a fit that failed during validation
      if (swapAtEnd && event.error === undefined) writeAverage(ctx.model);
    },
    state: () => ({ updates, decay }),
    stateTensors: (): tf.NamedTensorMap => Object.fromEntries(shadow ?? []),
    parseState(saved) {
      const s = readState(saved, NAME);
      return { updates: s.integer('updates', { min: 0 }), decay: s.number('decay') };
    },
    loadState(state, _version, tensors) {
      if (state.decay !== decay) {
        throw new TensorloopError(
          'TL_CHECKPOINT_INVALID',
          `[${NAME}] the checkpoint averaged with decay ${state.decay}, this plugin with ${decay}: resume with the same decay.`,
          { plugin: NAME },
        );
      }
      dropShadow();
      updates = state.updates;
      // A variable keeps its own reference to the data: core may dispose `tensors` after this call.
      const names = Object.keys(tensors);
      if (names.length > 0) shadow = new Map(names.map((n) => [n, tf.variable(tensors[n]!, false)]));
    },
  });
}
