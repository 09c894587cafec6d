import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from './errors.js';
import type { LossSpec } from './losses.js';
import type { MetricSpec } from './metrics.js';
import type { AnyOptimizer } from './optimizer-seam.js';
import { checkOptionKeys } from './option-keys.js';

/**
 * What a program written for `model.compile` / `model.fit` brings along, accepted with tfjs's own
 * meaning or refused with the fix: optimizer strings, a compiled model's loss/optimizer/metrics,
 * option keys.
 */

/** tfjs's optimizer strings (`model.compile({ optimizer: 'adam' })`), case-insensitive. */
export const OPTIMIZER_NAMES = [
  'sgd',
  'adam',
  'adamax',
  'rmsprop',
  'adagrad',
  'adadelta',
  'momentum',
] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** tfjs-layers' `epsilon()`, which its string optimizers use. */
const TFJS_EPSILON = 1e-7;

/**
 * The optimizer tfjs builds for the same string, with tfjs's defaults (`'rmsprop'` is lr 0.001 as in
 * tfjs, not core's PyTorch-style `rmsprop()` at 0.01). `'momentum'`, which tfjs-layers does not name,
 * is `tf.train.momentum(0.01, 0.9)`.
 */
export function optimizerFromName(name: string): tf.Optimizer {
  switch (name.toLowerCase()) {
    case 'sgd':
      return tf.train.sgd(0.01);
    case 'adam':
      return tf.train.adam(0.001, 0.9, 0.999, TFJS_EPSILON);
    case 'adamax':
      return tf.train.adamax(0.002, 0.9, 0.999, TFJS_EPSILON, 0);
    case 'rmsprop':
      return tf.train.rmsprop(0.001, 0.9, 0, TFJS_EPSILON);
    case 'adagrad':
      return tf.train.adagrad(0.01);
    case 'adadelta':
      return tf.train.adadelta(1, 0.95, TFJS_EPSILON);
    case 'momentum':
      return tf.train.momentum(0.01, 0.9);
    default:
      throw new TensorloopError(
        'TL_OPTIMIZER_INVALID',
        `options.optimizer: unknown optimizer name ${JSON.stringify(name)}. Names (tfjs's, with tfjs's defaults): ${OPTIMIZER_NAMES.join(', ')}; or pass an optimizer object (tf.train.adam(1e-3), adamw({ lr: 1e-3 })).`,
      );
  }
}

interface CompiledModel {
  readonly optimizer?: unknown;
  readonly loss?: unknown;
  readonly metrics?: unknown;
}

/** The loss, optimizer and metrics of a model that was `compile()`d (what `model.fit` would use). */
export function compiledDefaults(model: tf.LayersModel): {
  loss?: LossSpec;
  optimizer?: AnyOptimizer;
  metrics?: readonly MetricSpec[];
} {
  const m = model as unknown as CompiledModel;
  let optimizer: unknown;
  try {
    optimizer = m.optimizer; // a getter; undefined before compile()
  } catch {
    optimizer = undefined;
  }
  const loss = m.loss;
  const metrics = m.metrics;
  return {
    ...(typeof loss === 'string' || typeof loss === 'function' ? { loss: loss as LossSpec } : {}),
    ...(optimizer ? { optimizer: optimizer as AnyOptimizer } : {}),
    ...(metrics === undefined || metrics === null
      ? {}
      : { metrics: (Array.isArray(metrics) ? metrics : [metrics]) as MetricSpec[] }),
  };
}

/**
 * The loss, optimizer and metrics to train with: the Trainer's options, else what the model was
 * compiled with. `note` says when the options replaced a compiled model's own.
 */
export function resolveTrainingSpec(
  options: {
    readonly loss?: LossSpec;
    readonly optimizer?: unknown;
    readonly metrics?: readonly MetricSpec[];
  },
  model: tf.LayersModel,
): {
  loss: LossSpec;
  optimizer: unknown;
  metrics: readonly MetricSpec[] | undefined;
  note: string | undefined;
} {
  const compiled = compiledDefaults(model);
  const loss = options.loss ?? compiled.loss;
  if (loss === undefined) {
    throw new TensorloopError(
      'TL_LOSS_UNKNOWN',
      "options.loss is required (a loss name such as 'categoricalCrossentropy' or (yTrue, yPred) => tensor), unless the model was compile()d with one.",
    );
  }
  const overridden = (['loss', 'optimizer', 'metrics'] as const).filter(
    (k) => options[k] !== undefined && compiled[k] !== undefined,
  );
  return {
    loss,
    optimizer: options.optimizer ?? compiled.optimizer,
    metrics: options.metrics ?? compiled.metrics,
    note:
      overridden.length > 0
        ? `the model was compiled with its own ${overridden.join(', ')}; the Trainer's options are used instead.`
        : undefined,
  };
}

/** `model.fit` options tensorloop does not take, each with what to do instead. */
const MODEL_FIT_ONLY: Readonly<Record<string, string>> = {
  initialEpoch:
    'time continues across fit() calls by itself; to continue a run after a restart use resumeFrom',
  classWeight: 'weight the loss yourself: a custom loss (yTrue, yPred) => tensor',
  sampleWeight: 'weight the loss yourself: a custom loss (yTrue, yPred) => tensor',
  yieldEvery:
    "set it on the trainer: new Trainer({ yield: 'auto' | 'never' | { everyMs } }) (default 'auto': every 16 ms in a browser, never in Node.js)",
  validationSteps: 'pass validation data of the size you want to evaluate',
};

const FIT_KEYS = [
  'epochs',
  'batchSize',
  'shuffle',
  'validationData',
  'validationSplit',
  'validationBatchSize',
  'stepsPerEpoch',
  'checkData',
  'resumeFrom',
  'callbacks',
  'verbose',
  'dataTimeoutMs',
];

/** Unknown `fit` options are refused; `model.fit`'s own say what to do instead. */
export function checkFitOptionKeys(options: object): void {
  for (const key of Object.keys(options)) {
    const instead = MODEL_FIT_ONLY[key];
    if (instead !== undefined && (options as Record<string, unknown>)[key] !== undefined) {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `fit(): "${key}" is a model.fit option tensorloop does not take: ${instead}.`,
      );
    }
  }
  checkOptionKeys('fit()', options, [...FIT_KEYS, ...Object.keys(MODEL_FIT_ONLY)]);
}

export function checkEvaluateOptionKeys(options: object): void {
  checkOptionKeys('evaluate()', options, ['batchSize']);
}

const TRAINER_KEYS = [
  'model',
  'loss',
  'metrics',
  'optimizer',
  'plugins',
  'seed',
  'log',
  'logEvery',
  'smoothing',
  'hparams',
  'gradientClip',
  'accumulateBatches',
  'resetStates',
  'stepGate',
  'onNonFinite',
  'yield',
];

export function checkTrainerOptionKeys(options: object): void {
  checkOptionKeys('new Trainer()', options, TRAINER_KEYS);
}

/**
 * `fit(data, { validationSplit })` as tfjs does it: the last `fraction` of the samples, taken before
 * any shuffling, become the validation data. Tensor data only. Returns the two parts (the caller
 * disposes them) or undefined without a split.
 */
export function splitForValidation(
  data: unknown,
  fraction: unknown,
  hasValidationData: boolean,
):
  | {
      train: { x: tf.Tensor | tf.Tensor[]; y: tf.Tensor };
      validation: { x: tf.Tensor | tf.Tensor[]; y: tf.Tensor };
    }
  | undefined {
  if (fraction === undefined || fraction === 0) return undefined;
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction < 1)) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `validationSplit must be a number in (0, 1); got ${JSON.stringify(fraction)}.`,
    );
  }
  if (hasValidationData) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      'fit() got both validationData and validationSplit; tfjs would silently ignore the split. Pass one of them.',
    );
  }
  const d = data as { x?: unknown; y?: unknown } | null;
  const isTensor = (v: unknown) => v instanceof tf.Tensor;
  if (!d || !(isTensor(d.x) || (Array.isArray(d.x) && d.x.every(isTensor))) || !isTensor(d.y)) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      'validationSplit works on { x, y } tensor data only (as in tfjs); for a dataset or an iterable, pass validationData.',
    );
  }
  const xs = Array.isArray(d.x) ? (d.x as tf.Tensor[]) : [d.x as tf.Tensor];
  const y = d.y as tf.Tensor;
  const n = y.shape[0]!;
  const at = Math.floor(n * (1 - fraction));
  if (at < 1 || at >= n) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `validationSplit ${fraction} of ${n} samples leaves ${at} for training and ${n - at} for validation; both need at least one.`,
    );
  }
  const cut = (t: tf.Tensor, from: number, size: number) => tf.slice(t, from, size);
  const part = (from: number, size: number) => {
    const x = xs.map((t) => cut(t, from, size));
    return { x: Array.isArray(d.x) ? x : x[0]!, y: cut(y, from, size) };
  };
  return { train: part(0, at), validation: part(at, n - at) };
}
