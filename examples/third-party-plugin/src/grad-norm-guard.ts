// A third-party plugin, as a package `tfjs-loop-plugin-grad-norm-guard` would publish it: it depends
// on nothing but @tensorloop/core's public types and @tensorflow/tfjs.
//
// What it does: measures the global gradient norm every step (on the device), logs its epoch mean as
// `grad_norm`, emits `gradGuard:spike` when a step's norm exceeds `spikeFactor` × the running mean,
// and stops the fit at the end of the epoch in which the count reaches `maxSpikes`. Its counters
// survive checkpoints (state, parseState to check what a checkpoint file holds, loadState), and so do
// the norms of the current epoch still on the device (stateTensors): a checkpoint taken mid-epoch
// must carry them, or the resumed epoch's mean and spikes differ (@tensorloop/testkit's resume
// check caught the first version of this example, which forgot them).
import * as tf from '@tensorflow/tfjs';
import { definePlugin, type Plugin, readState, stop, TensorloopError } from '@tensorloop/core';

export const NAME = 'tfjs-loop-plugin-grad-norm-guard';

export interface GradNormGuardOptions {
  /** A step whose norm exceeds this × the running mean counts as a spike. Default 10. */
  readonly spikeFactor?: number;
  /** Stop the fit after this many spikes. Default Infinity (never). */
  readonly maxSpikes?: number;
}

export interface GradNormGuardState {
  readonly spikes: number;
  readonly meanNorm: number | null;
  readonly steps: number;
  /** Norms of this epoch's steps not read yet (a checkpoint mid-epoch); the tensors are `pending/<i>`. */
  readonly pending: number;
}

export interface GradNormGuardApi {
  /** Spikes seen so far (all fits). */
  spikes(): number;
}

// Types this plugin adds to the core: its state and API by name, its custom event, its log key.
declare module '@tensorloop/core' {
  interface PluginStateMap {
    'tfjs-loop-plugin-grad-norm-guard': GradNormGuardState;
  }
  interface PluginApiMap {
    'tfjs-loop-plugin-grad-norm-guard': GradNormGuardApi;
  }
  interface HookEvents {
    'gradGuard:spike': { readonly norm: number; readonly mean: number; readonly step: number };
  }
  interface Logs {
    grad_norm?: number;
  }
}

export function gradNormGuard(options: GradNormGuardOptions = {}): Plugin<typeof NAME> {
  const spikeFactor = options.spikeFactor ?? 10;
  const maxSpikes = options.maxSpikes ?? Number.POSITIVE_INFINITY;
  let spikes = 0;
  let meanNorm: number | undefined;
  let steps = 0;
  // Per-step norms stay on the device; one read-back per epoch (core's own discipline).
  let pending: tf.Scalar[] = [];
  let epochNorms: number[] = [];

  return definePlugin({
    name: NAME,
    version: '1.1.0',
    api: { spikes: () => spikes },
    transformGradients(_ctx, grads) {
      // Runs inside the step's tf.tidy: keep the norm so it outlives the step.
      const squares = [...grads.values()].map((g) => tf.sum(tf.square(g)));
      pending.push(tf.keep(tf.sqrt(tf.addN(squares)) as tf.Scalar));
      return grads;
    },
    async onEpochEnd(ctx, event) {
      if (pending.length === 0) return;
      const stacked = tf.stack(pending);
      const norms = Array.from(await stacked.data());
      tf.dispose([stacked, ...pending]);
      pending = [];
      epochNorms = norms;
      for (const norm of norms) {
        steps += 1;
        if (meanNorm !== undefined && norm > spikeFactor * meanNorm) {
          spikes += 1;
          await ctx.emit('gradGuard:spike', { norm, mean: meanNorm, step: steps });
        }
        meanNorm = meanNorm === undefined ? norm : meanNorm + (norm - meanNorm) / steps;
      }
      event.logs.grad_norm = epochNorms.reduce((a, b) => a + b, 0) / epochNorms.length;
      if (spikes >= maxSpikes) return stop(`${spikes} gradient-norm spikes (> ${spikeFactor}× the mean)`);
    },
    onFitEnd() {
      tf.dispose(pending);
      pending = [];
    },
    state: () => ({ spikes, meanNorm: meanNorm ?? null, steps, pending: pending.length }),
    // The plugin's own tensors, by name; core writes them into the checkpoint's plugins.bin.
    stateTensors: () => Object.fromEntries(pending.map((norm, i) => [`pending/${i}`, norm])),
    // A checkpoint is a file: check it field by field (a bad one fails with TL_CHECKPOINT_INVALID
    // naming this plugin and the field) before loadState trusts it. State that holds tensors
    // (an EMA, best weights) returns them from stateTensors() instead of putting them in the JSON.
    parseState(saved) {
      const s = readState(saved, NAME);
      return {
        spikes: s.integer('spikes', { min: 0 }),
        meanNorm: s.number('meanNorm', { nullable: true }),
        steps: s.integer('steps', { min: 0 }),
        pending: s.has('pending') ? s.integer('pending', { min: 0 }) : 0, // 1.0.0 did not save it
      };
    },
    loadState(state, _version, tensors) {
      spikes = state.spikes;
      meanNorm = state.meanNorm ?? undefined;
      steps = state.steps;
      tf.dispose(pending);
      // Core disposes `tensors` after this call: keep clones.
      pending = Array.from({ length: state.pending }, (_, i) => {
        const norm = tensors[`pending/${i}`];
        if (!norm) {
          throw new TensorloopError(
            'TL_CHECKPOINT_CORRUPT',
            `[${NAME}] the checkpoint counts ${state.pending} pending norms but holds no tensor pending/${i}; resume from another checkpoint.`,
            { plugin: NAME },
          );
        }
        return tf.clone(norm) as tf.Scalar;
      });
    },
  });
}
