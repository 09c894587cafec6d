import * as tf from '@tensorflow/tfjs';
import {
  type AnyOptimizer,
  adagrad,
  adam,
  adamw,
  describeValue,
  type FitOptions,
  type LogEntry,
  type LossName,
  type MetricName,
  type ParamGroupSpec,
  type Plugin,
  rmsprop,
  sgd,
  TensorloopError,
  Trainer,
} from '@tensorloop/core';
import { classificationData, mnistDigits, regressionData, type TensorPair } from './data.js';
import { mnistMlp, tinyClassifier, tinyRegressor } from './models.js';

/** A param group of a core optimizer: `pattern` is a RegExp source over weight names (`'^tk_out/'`). */
export interface GroupSpec {
  readonly name: string;
  readonly pattern: string;
  readonly [hparam: string]: number | string;
}

/**
 * The optimizer of a kit run, as plain JSON (a child process rebuilds it): a core optimizer
 * (`sgd`, `adam`, `adamw`, `rmsprop`, `adagrad`, with their options) or a tfjs one
 * (`tfjs-sgd`, `tfjs-adam`; only `lr`).
 */
export interface OptimizerSpec {
  readonly type: 'sgd' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad' | 'tfjs-sgd' | 'tfjs-adam';
  readonly lr?: number;
  readonly groups?: readonly GroupSpec[];
  readonly [option: string]: number | string | boolean | readonly GroupSpec[] | undefined;
}

/**
 * The training every kit run does, as plain JSON so that a fresh process builds exactly the same
 * trainer. Defaults: a synthetic 3-class problem, 64 rows (4 batches of 16), 32 validation rows,
 * 3 epochs, core `adam` at lr 0.01, seed 1.
 */
export interface KitSetup {
  /** `classification` (synthetic, 4 inputs, 3 classes), `regression` (synthetic, 3 inputs), `mnist` (real digits). */
  readonly task?: 'classification' | 'regression' | 'mnist';
  /** Training rows (`mnist`: a multiple of 10). Default 64 (`mnist`: 100). */
  readonly samples?: number;
  /** Validation rows, 0 for none. Default half of `samples`. */
  readonly validationSamples?: number;
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly optimizer?: OptimizerSpec;
  /** User hyperparameters (`{ 'lossWeight.aux': 1 }`), as `new Trainer({ hparams })`. */
  readonly hparams?: Readonly<Record<string, number>>;
  readonly metrics?: readonly MetricName[];
  readonly accumulateBatches?: number;
  readonly gradientClip?: { readonly maxNorm?: number; readonly maxValue?: number };
  readonly shuffle?: boolean;
  /** Seeds the shuffle. Default 1. */
  readonly seed?: number;
  /** Seeds the model's initializers. Default `seed`. */
  readonly modelSeed?: number;
  /** Hidden units of the model. Default 8 (`mnist`: 32). */
  readonly hidden?: number;
}

/** `KitSetup` with every default filled in. */
export type ResolvedSetup = Required<Omit<KitSetup, 'gradientClip'>> & Pick<KitSetup, 'gradientClip'>;

function invalid(message: string): never {
  throw new TensorloopError('TL_OPTION_INVALID', `@tensorloop/testkit: ${message}`);
}

function positiveInteger(name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min)
    invalid(`setup.${name} must be an integer ≥ ${min}; got ${value}.`);
  return value;
}

export function resolveSetup(setup: KitSetup = {}): ResolvedSetup {
  const task = setup.task ?? 'classification';
  if (!['classification', 'regression', 'mnist'].includes(task)) {
    invalid(`setup.task must be 'classification', 'regression' or 'mnist'; got ${describeValue(task)}.`);
  }
  const samples = positiveInteger('samples', setup.samples ?? (task === 'mnist' ? 100 : 64));
  if (task === 'mnist' && samples % 10 !== 0)
    invalid(`setup.samples must be a multiple of 10 for mnist; got ${samples}.`);
  const half = Math.floor(samples / 2);
  const validationSamples = positiveInteger(
    'validationSamples',
    setup.validationSamples ??
      (task === 'mnist' ? Math.max(10, Math.floor(half / 10) * 10) : Math.max(1, half)),
    0,
  );
  if (task === 'mnist' && validationSamples % 10 !== 0) {
    invalid(`setup.validationSamples must be a multiple of 10 for mnist; got ${validationSamples}.`);
  }
  const seed = setup.seed ?? 1;
  return {
    task,
    samples,
    validationSamples,
    epochs: positiveInteger('epochs', setup.epochs ?? 3),
    batchSize: positiveInteger('batchSize', setup.batchSize ?? 16),
    optimizer: setup.optimizer ?? { type: 'adam', lr: 0.01 },
    hparams: setup.hparams ?? {},
    metrics: setup.metrics ?? (task === 'regression' ? ['mae'] : ['accuracy']),
    accumulateBatches: positiveInteger('accumulateBatches', setup.accumulateBatches ?? 1),
    gradientClip: setup.gradientClip,
    shuffle: setup.shuffle ?? true,
    seed,
    modelSeed: setup.modelSeed ?? seed,
    hidden: positiveInteger('hidden', setup.hidden ?? (task === 'mnist' ? 32 : 8)),
  };
}

/** Optimizer steps per epoch of a setup (micro-batches divided by accumulation, rounded up). */
export function stepsPerEpoch(setup: ResolvedSetup): number {
  return Math.ceil(Math.ceil(setup.samples / setup.batchSize) / setup.accumulateBatches);
}

/** Batches per epoch of a setup. */
export function batchesPerEpoch(setup: ResolvedSetup): number {
  return Math.ceil(setup.samples / setup.batchSize);
}

export function buildOptimizer(spec: OptimizerSpec): AnyOptimizer {
  const { type, groups, ...rest } = spec;
  const options: Record<string, unknown> = { ...rest };
  if (groups !== undefined) {
    options.groups = groups.map(({ name, pattern, ...hparams }): ParamGroupSpec => {
      return { name, match: new RegExp(pattern), ...hparams };
    });
  }
  switch (type) {
    case 'sgd':
      return sgd({ lr: 0.1, ...options } as Parameters<typeof sgd>[0]);
    case 'adam':
      return adam(options as Parameters<typeof adam>[0]);
    case 'adamw':
      return adamw(options as Parameters<typeof adamw>[0]);
    case 'rmsprop':
      return rmsprop(options as Parameters<typeof rmsprop>[0]);
    case 'adagrad':
      return adagrad(options as Parameters<typeof adagrad>[0]);
    case 'tfjs-sgd':
      return tf.train.sgd(spec.lr ?? 0.1);
    case 'tfjs-adam':
      return tf.train.adam(spec.lr ?? 0.01);
    default:
      return invalid(
        `setup.optimizer.type ${describeValue(type)} is not one of sgd, adam, adamw, rmsprop, adagrad, tfjs-sgd, tfjs-adam.`,
      );
  }
}

function taskData(setup: ResolvedSetup): { train: TensorPair; validation: TensorPair | undefined } {
  const v = setup.validationSamples;
  switch (setup.task) {
    case 'mnist':
      return {
        train: mnistDigits(setup.samples / 10),
        // Digits 500 on of each class: never the training ones.
        validation: v > 0 ? mnistDigits(v / 10, 500) : undefined,
      };
    case 'regression':
      return {
        train: regressionData(setup.samples, { seed: 11 }),
        validation: v > 0 ? regressionData(v, { seed: 12 }) : undefined,
      };
    default:
      return {
        train: classificationData(setup.samples, { seed: 7 }),
        validation: v > 0 ? classificationData(v, { seed: 8 }) : undefined,
      };
  }
}

function taskModel(setup: ResolvedSetup): tf.LayersModel {
  const seed = setup.modelSeed;
  if (setup.task === 'mnist') return mnistMlp({ hidden: setup.hidden, seed });
  if (setup.task === 'regression') return tinyRegressor({ hidden: setup.hidden, seed });
  return tinyClassifier({ hidden: setup.hidden, seed });
}

const taskLoss = (setup: ResolvedSetup): LossName =>
  setup.task === 'regression' ? 'meanSquaredError' : 'categoricalCrossentropy';

/** A trainer, its data and its fit options, built from a setup. `dispose()` frees all of it. */
export interface KitRun {
  readonly trainer: Trainer;
  readonly data: TensorPair;
  readonly validationData: TensorPair | undefined;
  /** The fit options of the setup (`epochs`, `batchSize`, `shuffle`, `validationData`). */
  readonly fit: FitOptions;
  readonly setup: ResolvedSetup;
  dispose(): void;
}

export interface BuildRunOptions {
  /** Where the trainer's messages go. Default: nowhere. */
  readonly log?: (entry: LogEntry) => void;
}

/** Builds the trainer of a setup around `plugins` (in that order). */
export function buildRun(
  plugins: readonly Plugin[],
  setup: KitSetup = {},
  options: BuildRunOptions = {},
): KitRun {
  const resolved = resolveSetup(setup);
  const { train, validation } = taskData(resolved);
  const model = taskModel(resolved);
  let trainer: Trainer;
  try {
    trainer = new Trainer({
      model,
      loss: taskLoss(resolved),
      metrics: resolved.metrics,
      optimizer: buildOptimizer(resolved.optimizer),
      plugins,
      hparams: resolved.hparams,
      accumulateBatches: resolved.accumulateBatches,
      ...(resolved.gradientClip ? { gradientClip: resolved.gradientClip } : {}),
      seed: resolved.seed,
      log: options.log ?? 'silent',
    });
  } catch (error) {
    model.dispose();
    tf.dispose([train.x, train.y, ...(validation ? [validation.x, validation.y] : [])]);
    throw error;
  }
  let disposed = false;
  return {
    trainer,
    data: train,
    validationData: validation,
    setup: resolved,
    fit: {
      epochs: resolved.epochs,
      batchSize: resolved.batchSize,
      shuffle: resolved.shuffle,
      ...(validation ? { validationData: validation } : {}),
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      const opt = trainer.optimizer as { dispose?: () => void };
      opt.dispose?.();
      trainer.model.dispose();
      tf.dispose([train.x, train.y, ...(validation ? [validation.x, validation.y] : [])]);
    },
  };
}
