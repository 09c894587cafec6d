// The plugins the kit runs next to the plugin under test. They come last in every hook (enforce
// 'post', per-hook order 'post'), so they see what the plugin under test did at that point.
import * as tf from '@tensorflow/tfjs';
import { definePlugin, type Plugin, skipBatch, stop, type TrainerContext } from '@tensorloop/core';
import { tensorValues } from './json-state.js';

export const KIT = '@tensorloop/testkit';

/** A point inside a fit: its epoch (counted in this fit) and a micro-batch of that epoch. */
export interface FitPoint {
  readonly fitEpoch: number;
  readonly batch: number;
}

const last = <F>(handler: F) => ({ order: 'post' as const, handler });
const at = (ctx: TrainerContext, point: FitPoint, batch: number) =>
  ctx.time.fitEpoch === point.fitEpoch && batch === point.batch;

/** Host copies of every weight of the model, in `model.weights` order. */
export function weightValues(model: tf.LayersModel): Float32Array[] {
  return model.weights.map((w) => w.read().dataSync() as Float32Array);
}

export function weightChange(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let max = 0;
  a.forEach((w, i) => {
    const other = b[i]!;
    for (let j = 0; j < w.length; j++) max = Math.max(max, Math.abs(w[j]! - other[j]!));
  });
  return max;
}

/** `tf.memory().numTensors` at the end of every epoch, after every other plugin's onEpochEnd. */
export function memoryProbe(): Plugin & { readonly counts: number[] } {
  const counts: number[] = [];
  return Object.assign(
    definePlugin({
      name: `${KIT}:memory`,
      enforce: 'post',
      onEpochEnd: last(() => void counts.push(tf.memory().numTensors)),
    }),
    { counts },
  );
}

/** What the resume check compares between an uninterrupted run and an interrupted-and-resumed one. */
export type Decision =
  | { readonly at: 'step'; readonly step: number; readonly hparams: Readonly<Record<string, number>> }
  | {
      readonly at: 'epoch' | 'fitEnd';
      readonly epoch: number;
      readonly states: Readonly<Record<string, unknown>>;
      /** Values of `stateTensors()`, by plugin and tensor name (compared within the tolerance). */
      readonly tensors: Readonly<Record<string, Record<string, number[]>>>;
    };

/**
 * Records the plugins' decisions as they are visible from outside: the value of every
 * hyperparameter they declare after each optimizer step, and their `state()` (and state tensors)
 * at every epoch end and at the fit's end.
 */
export function decisionRecorder(
  watched: readonly Plugin[],
  options: { readonly states: boolean },
): Plugin & { take(): Decision[] } {
  let log: Decision[] = [];
  const names = [...new Set(watched.flatMap((p) => (p.hparams ?? []).map((h) => h.name)))];
  const hparamValues = (ctx: TrainerContext) => {
    const values: Record<string, number> = {};
    for (const name of names) {
      if (!ctx.hparams.names().includes(name)) continue;
      const groups = ctx.hparams.groups(name);
      if (groups.length === 0) values[name] = ctx.hparams.get(name);
      for (const group of groups) values[`${name}(${group})`] = ctx.hparams.get(name, { group });
    }
    return values;
  };
  const snapshot = (at: 'epoch' | 'fitEnd', epoch: number): Decision => {
    const states: Record<string, unknown> = {};
    const tensors: Record<string, Record<string, number[]>> = {};
    for (const p of watched) {
      if (typeof p.state === 'function') states[p.name] = JSON.parse(JSON.stringify(p.state() ?? null));
      if (typeof p.stateTensors === 'function') tensors[p.name] = tensorValues(p.stateTensors());
    }
    return { at, epoch, states, tensors };
  };
  return Object.assign(
    definePlugin({
      name: `${KIT}:decisions`,
      enforce: 'post',
      onBatchEnd: last((ctx: TrainerContext, e: { stepped: boolean }) => {
        if (e.stepped && names.length > 0)
          log.push({ at: 'step', step: ctx.time.step, hparams: hparamValues(ctx) });
      }),
      onEpochEnd: last((_ctx: TrainerContext, e: { epoch: number }) => {
        if (options.states) log.push(snapshot('epoch', e.epoch));
      }),
      onFitEnd: last((ctx: TrainerContext) => {
        if (options.states) log.push(snapshot('fitEnd', ctx.time.epoch));
      }),
    }),
    {
      take: () => {
        const out = log;
        log = [];
        return out;
      },
    },
  );
}

/**
 * Another plugin that stops the fit at `point` (in `onBatchEnd`, mid-epoch) and takes the model's
 * weights there, after the epoch's end, and at the fit's end.
 */
export function stopper(point: FitPoint): Plugin & {
  readonly seen: {
    stopped: boolean;
    atStop?: Float32Array[];
    atEpochEnd?: Float32Array[];
    atFitEnd?: Float32Array[];
  };
} {
  const seen: {
    stopped: boolean;
    atStop?: Float32Array[];
    atEpochEnd?: Float32Array[];
    atFitEnd?: Float32Array[];
  } = { stopped: false };
  return Object.assign(
    definePlugin({
      name: `${KIT}:stopper`,
      enforce: 'post',
      onBatchEnd: last((ctx: TrainerContext, e: { batch: number }) => {
        if (seen.stopped || !at(ctx, point, e.batch)) return undefined;
        seen.stopped = true;
        seen.atStop = weightValues(ctx.model);
        return stop(`another plugin stops the fit at epoch ${point.fitEpoch}, batch ${point.batch}`);
      }),
      onEpochEnd: last((ctx: TrainerContext) => {
        if (seen.stopped && !seen.atEpochEnd) seen.atEpochEnd = weightValues(ctx.model);
      }),
      onFitEnd: last((ctx: TrainerContext) => {
        if (seen.stopped && !seen.atFitEnd) seen.atFitEnd = weightValues(ctx.model);
      }),
    }),
    { seen },
  );
}

/** Another plugin that skips the given batches of epoch `fitEpoch` (returns `skipBatch`). */
export function skipper(
  fitEpoch: number,
  batches: readonly number[],
): Plugin & { readonly skipped: number[] } {
  const skipped: number[] = [];
  return Object.assign(
    definePlugin({
      name: `${KIT}:skipper`,
      enforce: 'post',
      onBatchStart: last((ctx: TrainerContext, e: { batch: number }) => {
        if (ctx.time.fitEpoch !== fitEpoch || !batches.includes(e.batch)) return undefined;
        skipped.push(ctx.time.batch);
        return skipBatch('another plugin skips this batch');
      }),
    }),
    { skipped },
  );
}

export const THROWER = `${KIT}:thrower`;
export const THROWN_MESSAGE = 'a deliberate failure of another plugin (@tensorloop/testkit)';

/** Another plugin that throws in `onBatchEnd` at `point`. */
export function thrower(point: FitPoint): Plugin {
  return definePlugin({
    name: THROWER,
    enforce: 'post',
    onBatchEnd: last((ctx: TrainerContext, e: { batch: number }) => {
      if (at(ctx, point, e.batch)) throw new Error(THROWN_MESSAGE);
    }),
  });
}

/** Where a resume check interrupts the first run (right after a checkpoint there). */
export type Interruption = { readonly afterEpoch: number } | { readonly atStep: number };

/** Saves a checkpoint at the interruption point (after every other plugin's hooks) and crashes. */
export function interrupter(point: Interruption, crash: (ctx: TrainerContext) => Promise<void>): Plugin {
  return definePlugin({
    name: `${KIT}:interrupt`,
    enforce: 'post',
    onEpochEnd: last(async (ctx: TrainerContext, e: { epoch: number }) => {
      if ('afterEpoch' in point && e.epoch + 1 === point.afterEpoch) await crash(ctx);
    }),
    onBatchEnd: last(async (ctx: TrainerContext, e: { stepped: boolean }) => {
      if ('atStep' in point && e.stepped && ctx.time.step === point.atStep) await crash(ctx);
    }),
  });
}
