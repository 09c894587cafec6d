import * as tf from '@tensorflow/tfjs';
import type { TfjsCallbacks } from './callbacks-bridge.js';
import type { DataInput } from './data.js';
import type { Verbosity } from './epoch-line.js';
import { TensorloopError } from './errors.js';
import type { LogOption } from './logger.js';
import { checkDataTimeout } from './loop/data-timeout.js';
import { checkNonFiniteOption, type NonFiniteOption } from './loop/non-finite.js';
import type { GradientClipOptions } from './loop/step.js';
import { checkStepGateOption, type StepGateOption } from './loop/step-gate.js';
import type { YieldOption } from './loop/yield-policy.js';
import type { LossSpec } from './losses.js';
import type { MetricSpec } from './metrics.js';
import { OPTIMIZER_NAMES, type OptimizerName, optimizerFromName } from './model-fit-compat.js';
import type { AnyOptimizer } from './optimizer-seam.js';
import { checkOptionKeys } from './option-keys.js';
import type { Plugin } from './plugin.js';
import { shownValue } from './shown-value.js';

export interface TrainerOptions {
  readonly model: tf.LayersModel;
  /**
   * A loss name (`'categoricalCrossentropy'`, ...) or `(yTrue, yPred) => tensor`. Optional when the
   * model was `compile()`d: its loss (and optimizer, metrics) are used then.
   */
  readonly loss?: LossSpec;
  readonly metrics?: readonly MetricSpec[];
  /**
   * A tfjs optimizer (`tf.train.adam()`), a tensorloop one (`adamw({...})`), or a tfjs optimizer
   * string (`'adam'`, `'rmsprop'`, ...: tfjs's optimizer with tfjs's defaults). Optional for a compiled model.
   */
  readonly optimizer?: AnyOptimizer | OptimizerName;
  readonly plugins?: readonly Plugin[];
  /** Seeds the shuffle order (default 0). */
  readonly seed?: number;
  /** Where messages go: the console (default), nowhere, or your function. */
  readonly log?: LogOption;
  /** Also read back batch loss/metrics every n batches (for `onBatchEnd` logs). Default: never. */
  readonly logEvery?: number;
  /** β of the smoothed training loss (`smooth_loss`), as fastai. Default 0.98. */
  readonly smoothing?: number;
  /** User hyperparameters a loss or plugin reads each step, e.g. `{ 'lossWeight.aux': 0.5 }`. */
  readonly hparams?: Readonly<Record<string, number>>;
  /** Clip gradients before every optimizer step: by global norm, by value, or both (value first). */
  readonly gradientClip?: GradientClipOptions;
  /**
   * Accumulate gradients over k micro-batches per optimizer step (each micro-batch loss is divided
   * by k, so k batches of n equal one batch of k·n). Default 1.
   */
  readonly accumulateBatches?: number;
  /**
   * Stateful RNN layers (`stateful: true`): `'epoch'` (default) resets their states at each epoch
   * start and before validation and `evaluate()` (fastai's ModelResetter, Keras's per-epoch reset);
   * `'never'` leaves that to you (`model.resetStates()`).
   */
  readonly resetStates?: 'epoch' | 'never';
  /**
   * How a step that a plugin gates (`transformStepGate`: AMP's overflow skip) is skipped. `'host'`
   * reads the gate, one bool scalar, before the update (exact counters at once; a memory read on cpu,
   * wasm and tfjs-node); `'device'` applies the update through `where(gate, new, old)` with no
   * read-back, and `time.step` learns of a skip at the next read-back (epoch end, batch logs, a
   * checkpoint). Default `'auto'`: host on cpu, wasm and tfjs-node, device on WebGL and WebGPU.
   */
  readonly stepGate?: StepGateOption;
  /**
   * A step whose loss or a gradient is NaN or infinite, found on the device and learnt at the next
   * read-back (epoch end, `logEvery`, a checkpoint): `'stop'` (default) ends the fit with a stop
   * reason naming the step and the quantity, `'throw'` ends it with `TL_NON_FINITE`, `'skip'` applies
   * nothing for such steps (through the step gate) and warns. A checkpoint save after such a step
   * (in the same fit) is not written, so the last good one stays.
   */
  readonly onNonFinite?: NonFiniteOption;
  /**
   * When a fit hands the thread back between batches so a page repaints and handles input:
   * `'auto'` (default) yields a macrotask at most every 16 ms in a browser or worker and never in
   * Node.js; `'never'`; or `{ everyMs }`.
   */
  readonly yield?: YieldOption;
}

export interface FitOptions {
  readonly epochs: number;
  /** For tensor data. Default 32. */
  readonly batchSize?: number;
  /** Shuffle tensor data each epoch with the trainer's seeded RNG. Default true. */
  readonly shuffle?: boolean;
  readonly validationData?: DataInput;
  /** Batch size for validation of tensor data. Default: `batchSize`. */
  readonly validationBatchSize?: number;
  /**
   * Validate on the last fraction (0–1) of tensor data, taken before shuffling, as tfjs's `model.fit`
   * does. Not with `validationData`, datasets or iterables.
   */
  readonly validationSplit?: number;
  /** Batches per epoch: required for endless sources, optional otherwise. */
  readonly stepsPerEpoch?: number;
  /** Refuse NaN/Infinity in the data before the first step (whole tensors, or the first batch). Default true. */
  readonly checkData?: boolean;
  /**
   * A checkpoint to restore first: a directory, or `indexeddb://<name>` / `opfs://<name>` in a browser
   * (weights, optimizer state, time, RNG, hyperparameters, frozen set, history, stop reason, plugin state). A checkpoint taken inside a fit continues that
   * fit (pass the same `epochs`); one taken between fits starts a new fit.
   */
  readonly resumeFrom?: string;
  /**
   * tfjs callbacks (`{ onEpochEnd(epoch, logs) }`, `tf.CustomCallback`, `tf.callbacks.earlyStopping()`,
   * or a list), run for this fit as the `tfjs-callbacks` plugin with tfjs's semantics (see
   * docs/from-model-fit.md).
   */
  readonly callbacks?: TfjsCallbacks;
  /**
   * tfjs's `verbose`: 0 prints no epoch line, 1 a progress bar when `@tensorloop/progress` is installed
   * (else one line per epoch), 2 one line per epoch. Default: one line per epoch unless `log: 'silent'`.
   */
  readonly verbose?: Verbosity;
  /**
   * The longest wait, in ms, for the data source to hand over a batch (training, validation, and
   * the first batch checked before training); a source that stalls longer ends the fit with
   * `TL_DATA_TIMEOUT` instead of hanging it. Default: no limit.
   */
  readonly dataTimeoutMs?: number;
}

/** `Trainer.load` options: the trainer's options, with model and optimizer optional (rebuilt from the checkpoint). */
export type TrainerLoadOptions = Omit<TrainerOptions, 'model' | 'optimizer' | 'loss'> & {
  readonly model?: tf.LayersModel;
  readonly optimizer?: AnyOptimizer;
  /** Required when the checkpoint was trained with a custom loss function. */
  readonly loss?: LossSpec;
};

export interface EvaluateOptions {
  readonly batchSize?: number;
}

export function requireInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `${name} must be an integer ≥ ${min}; got ${shownValue(value)}.`,
    );
  }
  return value;
}

/** The model to train (a built `tf.LayersModel`). */
export function checkModel(model: unknown): tf.LayersModel {
  if (!(model instanceof tf.LayersModel)) {
    throw new TensorloopError(
      'TL_MODEL_INVALID',
      'options.model must be a tf.LayersModel (tf.sequential(...) or tf.model(...)).',
    );
  }
  if (model instanceof tf.Sequential && !model.built) model.build();
  return model;
}

export function checkOptimizer(optimizer: unknown): AnyOptimizer {
  if (typeof optimizer === 'string') return optimizerFromName(optimizer);
  if (
    typeof optimizer !== 'object' ||
    optimizer === null ||
    typeof (optimizer as { applyGradients?: unknown }).applyGradients !== 'function'
  ) {
    throw new TensorloopError(
      'TL_OPTIMIZER_INVALID',
      `options.optimizer must be a tfjs optimizer (tf.train.sgd(0.1), tf.train.adam()), a tensorloop optimizer (adamw({...})) or one of tfjs's names (${OPTIMIZER_NAMES.join(', ')}); got ${optimizer === undefined ? 'nothing (and the model is not compiled)' : typeof optimizer}.`,
    );
  }
  return optimizer as AnyOptimizer;
}

/** Trainer options after their checks (model and optimizer: `checkModel`, `checkOptimizer`). */
export interface CheckedTrainerOptions {
  readonly logEvery: number | undefined;
  readonly smoothing: number;
  readonly accumulateBatches: number;
  readonly clip: GradientClipOptions;
  readonly resetStates: 'epoch' | 'never';
  readonly stepGate: StepGateOption;
  readonly onNonFinite: NonFiniteOption;
}

export function checkTrainerOptions(options: TrainerOptions): CheckedTrainerOptions {
  if (options.seed !== undefined && !Number.isSafeInteger(options.seed)) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `seed must be an integer (it seeds the shuffle order and the step's randomness); got ${shownValue(options.seed)}.`,
    );
  }
  const logEvery =
    options.logEvery === undefined ? undefined : requireInteger('logEvery', options.logEvery, 1);
  const smoothing = options.smoothing ?? 0.98;
  if (typeof smoothing !== 'number' || !(smoothing >= 0 && smoothing < 1)) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `smoothing must be a number in [0, 1) (0.98 by default); got ${shownValue(smoothing)}.`,
    );
  }
  const accumulateBatches = requireInteger('accumulateBatches', options.accumulateBatches ?? 1, 1);
  const resetStates = options.resetStates ?? 'epoch';
  if (resetStates !== 'epoch' && resetStates !== 'never') {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `resetStates must be 'epoch' or 'never'; got ${shownValue(resetStates)}.`,
    );
  }
  const stepGate = checkStepGateOption(options.stepGate);
  return {
    logEvery,
    smoothing,
    accumulateBatches,
    clip: checkClip(options.gradientClip ?? {}),
    resetStates,
    stepGate,
    onNonFinite: checkNonFiniteOption(options.onNonFinite),
  };
}

/** Fit options after their checks. */
export interface CheckedFitOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly stepsPerEpoch: number | undefined;
  readonly validationBatchSize: number;
  readonly shuffle: boolean;
  readonly checkData: boolean;
  readonly dataTimeoutMs: number | undefined;
}

export function checkFitOptions(options: FitOptions): CheckedFitOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `fit(data, options): options must be an object such as { epochs: 10 }; got ${shownValue(options)}.`,
    );
  }
  const epochs = requireInteger('epochs', options.epochs, 1);
  const batchSize = requireInteger('batchSize', options.batchSize ?? 32, 1);
  const stepsPerEpoch =
    options.stepsPerEpoch === undefined
      ? undefined
      : requireInteger('stepsPerEpoch', options.stepsPerEpoch, 1);
  const validationBatchSize = requireInteger(
    'validationBatchSize',
    options.validationBatchSize ?? batchSize,
    1,
  );
  if (
    options.resumeFrom !== undefined &&
    (typeof options.resumeFrom !== 'string' || options.resumeFrom === '')
  ) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `resumeFrom must be the path of a checkpoint directory (a string); got ${shownValue(options.resumeFrom)}.`,
    );
  }
  return {
    epochs,
    batchSize,
    stepsPerEpoch,
    validationBatchSize,
    shuffle: requireBoolean('shuffle', options.shuffle, true),
    checkData: requireBoolean('checkData', options.checkData, true),
    dataTimeoutMs: checkDataTimeout(options.dataTimeoutMs),
  };
}

function requireBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `${name} must be true or false; got ${shownValue(value)}.`,
    );
  }
  return value;
}

function checkClip(clip: GradientClipOptions): GradientClipOptions {
  if (typeof clip !== 'object' || clip === null || Array.isArray(clip)) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `gradientClip must be an object such as { maxNorm: 1 } or { maxValue: 0.5 }; got ${shownValue(clip)}.`,
    );
  }
  checkOptionKeys('gradientClip', clip, ['maxNorm', 'maxValue']);
  for (const key of ['maxNorm', 'maxValue'] as const) {
    const v = clip[key];
    if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v))) {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `gradientClip.${key} must be a positive number; got ${shownValue(v)}.`,
      );
    }
  }
  return clip;
}
