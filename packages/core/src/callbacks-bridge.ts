import * as tf from '@tensorflow/tfjs';
import { describeValue } from './describe-value.js';
import { TensorloopError } from './errors.js';
import { closestKey } from './option-keys.js';
import type { Logs, Plugin, TrainerContext } from './plugin.js';
import { type StopSignal, stop } from './signals.js';

/**
 * The bridge from `model.fit({ callbacks })`: tfjs callbacks (`{ onEpochEnd }` objects,
 * `tf.CustomCallback` instances, `tf.callbacks.earlyStopping(...)`, arrays of them) run as one
 * plugin, `tfjs-callbacks`, with tfjs's semantics: tfjs's log keys (`acc`, `val_acc` beside ours),
 * fit-local epoch numbers, async methods awaited in list order, and `model.stopTraining = true`
 * (how tfjs callbacks stop a fit) turned into a stop signal.
 */

export const CALLBACKS_PLUGIN = 'tfjs-callbacks';

type MaybePromise = void | Promise<void>;

/** What tfjs's `CustomCallbackArgs` holds that the bridge runs. */
export interface TfjsCallbackArgs {
  onTrainBegin?: (logs?: tf.Logs) => MaybePromise;
  onTrainEnd?: (logs?: tf.Logs) => MaybePromise;
  onEpochBegin?: (epoch: number, logs?: tf.Logs) => MaybePromise;
  onEpochEnd?: (epoch: number, logs?: tf.Logs) => MaybePromise;
  onBatchBegin?: (batch: number, logs?: tf.Logs) => MaybePromise;
  onBatchEnd?: (batch: number, logs?: tf.Logs) => MaybePromise;
}

/**
 * `fit(data, { callbacks })` as tfjs takes it: one callback or a list. `tf.CustomCallback`,
 * `tf.callbacks.earlyStopping()` and other `tf.Callback` instances fit this type too.
 */
export type TfjsCallbacks = TfjsCallbackArgs | readonly TfjsCallbackArgs[];

const METHODS = [
  'onTrainBegin',
  'onTrainEnd',
  'onEpochBegin',
  'onEpochEnd',
  'onBatchBegin',
  'onBatchEnd',
] as const;

/** tfjs keys the bridge cannot honour, each with what to do instead. */
const REFUSED: Readonly<Record<string, string>> = {
  onYield:
    'tensorloop does not yield on a timer from a callback; do the work in onBatchEnd (it is awaited) or write a plugin',
  nowFunc: 'the bridge has no yield timer to feed; remove it',
  nextFrameFunc: 'the bridge has no yield timer to feed; remove it',
};

interface BridgedCallback {
  readonly label: string;
  readonly call: {
    [K in (typeof METHODS)[number]]?: (...args: never[]) => MaybePromise;
  };
  readonly instance: { setModel?: (m: unknown) => void; setParams?: (p: unknown) => void } | undefined;
  readonly wantsBatchLogs: boolean;
  readonly stopReason: () => string;
}

/** Where a tf.CustomCallback keeps the function it was given for each method. */
const CUSTOM_FIELDS = {
  onTrainBegin: 'trainBegin',
  onTrainEnd: 'trainEnd',
  onEpochBegin: 'epochBegin',
  onEpochEnd: 'epochEnd',
  onBatchBegin: 'batchBegin',
  onBatchEnd: 'batchEnd',
} as const;

const baseCallbackProto = Object.getPrototypeOf(tf.CustomCallback.prototype) as Record<string, unknown>;

function bridgeInstance(cb: object, i: number): BridgedCallback {
  const methods = cb as Record<string, unknown>;
  const isEarlyStopping = cb instanceof tf.EarlyStopping;
  const custom = cb instanceof tf.CustomCallback ? (cb as unknown as Record<string, unknown>) : undefined;
  // A tf.CustomCallback has every method but runs only those it was given (its `epochEnd`, ... fields);
  // other instances run the methods they override (BaseCallback's own do nothing).
  const given = (m: (typeof METHODS)[number]) =>
    custom
      ? custom[CUSTOM_FIELDS[m]] != null
      : typeof methods[m] === 'function' && methods[m] !== baseCallbackProto[m];
  const call: BridgedCallback['call'] = {};
  for (const m of METHODS) {
    if (given(m)) {
      const fn = methods[m] as (...args: unknown[]) => MaybePromise;
      call[m] = (...args: never[]) => fn.apply(cb, args);
    }
  }
  const es = cb as unknown as { monitor?: string; patience?: number };
  return {
    label: isEarlyStopping ? 'tf.callbacks.earlyStopping' : `callbacks[${i}] (${cb.constructor.name})`,
    call,
    instance: cb as BridgedCallback['instance'],
    wantsBatchLogs: given('onBatchEnd'),
    stopReason: () =>
      isEarlyStopping
        ? `tf.callbacks.earlyStopping: ${es.monitor} did not improve for ${es.patience} epochs`
        : `callbacks[${i}] set model.stopTraining`,
  };
}

function bridgeArgs(cb: Record<string, unknown>, i: number): BridgedCallback {
  const valid: readonly string[] = METHODS;
  for (const [key, value] of Object.entries(cb)) {
    if (value === undefined) continue;
    const instead = REFUSED[key];
    if (instead !== undefined) {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `fit(): callbacks[${i}].${key} is a tfjs callback option the bridge does not support: ${instead}.`,
      );
    }
    // Your own fields and helpers ride along, as in tfjs; a misspelt method (`onEpochEnds`) would
    // never run, so it is refused.
    if (!valid.includes(key) && /^on[A-Z]/.test(key)) {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `fit(): callbacks[${i}] has an unknown method "${key}"; did you mean "${closestKey(key, valid)}"? tfjs callbacks are ${METHODS.join(', ')}.`,
      );
    }
    if (valid.includes(key) && typeof value !== 'function') {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `fit(): callbacks[${i}].${key} must be a function (tfjs's CustomCallbackArgs); got ${describeValue(value)}.`,
      );
    }
  }
  const call: BridgedCallback['call'] = {};
  for (const m of METHODS) {
    const fn = cb[m];
    // Called as methods, as tfjs does: `this` is the callback object.
    if (typeof fn === 'function') call[m] = (...args: never[]) => fn.apply(cb, args);
  }
  return {
    label: `callbacks[${i}]`,
    call,
    instance: undefined,
    wantsBatchLogs: typeof cb.onBatchEnd === 'function',
    stopReason: () => `callbacks[${i}] set model.stopTraining`,
  };
}

/** Checks `callbacks` and lists them; refuses what tfjs would take but the bridge cannot run. */
export function checkCallbacks(callbacks: unknown): BridgedCallback[] {
  const list = Array.isArray(callbacks) ? callbacks : [callbacks];
  return list.map((cb: unknown, i) => {
    if (typeof cb !== 'object' || cb === null) {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `fit(): callbacks[${i}] must be a tfjs callback ({ onEpochEnd: (epoch, logs) => ... }, a tf.CustomCallback, tf.callbacks.earlyStopping()); got ${describeValue(cb)}.`,
      );
    }
    const plain = Object.getPrototypeOf(cb) === Object.prototype || Object.getPrototypeOf(cb) === null;
    return plain ? bridgeArgs(cb as Record<string, unknown>, i) : bridgeInstance(cb, i);
  });
}

/** Our logs with tfjs's spellings beside them: `acc`/`val_acc` for `accuracy`/`val_accuracy`. */
export function tfjsLogs(logs: Logs | undefined, extra: Logs = {}): tf.Logs {
  const out: tf.Logs = {};
  for (const [k, v] of Object.entries({ ...extra, ...logs })) if (v !== undefined) out[k] = v;
  for (const [ours, theirs] of [
    ['accuracy', 'acc'],
    ['val_accuracy', 'val_acc'],
  ] as const) {
    if (out[ours] !== undefined && out[theirs] === undefined) out[theirs] = out[ours]!;
  }
  return out;
}

/** The `tfjs-callbacks` plugin for checked callbacks. */
export function callbacksPlugin(callbacks: readonly BridgedCallback[]): Plugin {
  let fitEpoch = 0;
  /** Calls `method` of every callback in order, awaiting each; a `model.stopTraining` becomes a stop. */
  const run = async (
    ctx: TrainerContext,
    method: (typeof METHODS)[number],
    args: readonly unknown[],
  ): Promise<StopSignal | undefined> => {
    let signal: StopSignal | undefined;
    for (const cb of callbacks) {
      const fn = cb.call[method] as ((...a: unknown[]) => MaybePromise) | undefined;
      if (!fn) continue;
      await fn(...args);
      if (ctx.model.stopTraining) {
        ctx.model.stopTraining = false;
        signal ??= stop(cb.stopReason());
      }
    }
    return signal;
  };
  const has = (method: (typeof METHODS)[number]) => callbacks.some((cb) => cb.call[method] !== undefined);
  const plugin: Plugin = {
    name: CALLBACKS_PLUGIN,
    needsBatchLogs: callbacks.some((cb) => cb.wantsBatchLogs),
    describe: () => callbacks.map((cb) => `${cb.label}: ${Object.keys(cb.call).join(', ') || 'no methods'}`),
    async onFitStart(ctx, event) {
      ctx.model.stopTraining = false;
      for (const cb of callbacks) {
        cb.instance?.setModel?.(ctx.model);
        cb.instance?.setParams?.({
          epochs: event.epochs,
          initialEpoch: 0,
          steps: event.stepsPerEpoch,
          batchSize: event.batchSize,
          verbose: 0,
          doValidation: event.hasValidation,
        });
      }
      return run(ctx, 'onTrainBegin', [{}]);
    },
    async onEpochStart(ctx, event) {
      fitEpoch = event.fitEpoch;
      return run(ctx, 'onEpochBegin', [event.fitEpoch, {}]);
    },
    async onEpochEnd(ctx, event) {
      return run(ctx, 'onEpochEnd', [fitEpoch, tfjsLogs(event.logs)]);
    },
    async onFitEnd(ctx) {
      await run(ctx, 'onTrainEnd', [{}]);
      ctx.model.stopTraining = false;
    },
  };
  // Batch hooks only when a callback has them: a hook per batch costs an await per step.
  return {
    ...plugin,
    ...(has('onBatchBegin')
      ? {
          onBatchStart: (ctx: TrainerContext, event: { batch: number; size: number }) =>
            run(ctx, 'onBatchBegin', [event.batch, { batch: event.batch, size: event.size }]),
        }
      : {}),
    ...(has('onBatchEnd')
      ? {
          onBatchEnd: (ctx: TrainerContext, event: { batch: number; size: number; logs: Logs | undefined }) =>
            run(ctx, 'onBatchEnd', [
              event.batch,
              tfjsLogs(event.logs, { batch: event.batch, size: event.size }),
            ]),
        }
      : {}),
  };
}
