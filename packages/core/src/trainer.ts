import * as tf from '@tensorflow/tfjs';
import { GradientAccumulator } from './accumulation.js';
import { registerFileSystemRouter } from './checkpoint/file-handler.js';
import { recreateOptimizer } from './checkpoint/recreate-optimizer.js';
import {
  type FitCheckpoint,
  readTrainerCheckpoint,
  writeTrainerCheckpoint,
} from './checkpoint/trainer-checkpoint.js';
import {
  applyTrainerState,
  collectTrainerState,
  type TrainerStateJson,
  type TrainerStateParts,
} from './checkpoint/trainer-state.js';
import { type ContextHost, createContext, hparamView } from './context.js';
import {
  type DataInput,
  type DataSource,
  type PendingBatch,
  sampleForValidation,
  toDataSource,
} from './data.js';
import { describePlan } from './describe.js';
import { EpochLog } from './epoch-log.js';
import { TensorloopError } from './errors.js';
import { evaluateSource } from './evaluation.js';
import { makeFrozenBatchNormInfer, type ParameterInfo, setTrainable } from './freezing.js';
import { HookRunner, type RaisedSignal, wrapHookError } from './hooks.js';
import { OptimizerHparamBridge } from './hparam-bridge.js';
import { HyperparamStore, USER_WRITER } from './hyperparams.js';
import { LogHub, type LogOption } from './logger.js';
import { type LossSpec, type ResolvedLoss, resolveLoss } from './losses.js';
import { type MetricSpec, type ResolvedMetric, resolveMetrics } from './metrics.js';
import type { ParamMatcher, TensorloopOptimizer } from './optim/types.js';
import { type AnyOptimizer, isTensorloopOptimizer } from './optimizer-seam.js';
import { orderPlugins } from './ordering.js';
import type {
  CoreEventName,
  EpochRecord,
  FitPlanInfo,
  HookEvents,
  HyperparamAccess,
  Logs,
  Plugin,
  StopReason,
  TrainerContext,
} from './plugin.js';
import { SeededRandom } from './rng.js';
import {
  flushAccumulated,
  type GradientClipOptions,
  type StepDeps,
  type StepOutput,
  trainStep,
} from './step.js';
import { fractionOf, initialTime, type MutableTime, snapshotTime, type Time } from './time.js';
import { checkFinite, checkShapes } from './validate.js';
import { collectTrainableWeights, type TrainableWeight } from './variables.js';

export interface TrainerOptions {
  readonly model: tf.LayersModel;
  /** A loss name (`'categoricalCrossentropy'`, ...) or `(yTrue, yPred) => tensor`. */
  readonly loss: LossSpec;
  readonly metrics?: readonly MetricSpec[];
  /** A tfjs optimizer (`tf.train.adam()`) or a tensorloop one (`adamw({...})`). */
  readonly optimizer: AnyOptimizer;
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
  /** Batches per epoch: required for endless sources, optional otherwise. */
  readonly stepsPerEpoch?: number;
  /** Refuse NaN/Infinity in the data before the first step (whole tensors, or the first batch). Default true. */
  readonly checkData?: boolean;
  /**
   * A checkpoint directory to restore first (weights, optimizer state, time, RNG, hyperparameters,
   * frozen set, history, stop reason, plugin state). A checkpoint taken inside a fit continues that
   * fit (pass the same `epochs`); one taken between fits starts a new fit.
   */
  readonly resumeFrom?: string;
}

/** `Trainer.load` options: the trainer's options, with model and optimizer optional (rebuilt from the checkpoint). */
export type TrainerLoadOptions = Omit<TrainerOptions, 'model' | 'optimizer' | 'loss'> & {
  readonly model?: tf.LayersModel;
  readonly optimizer?: AnyOptimizer;
  /** Required when the checkpoint was trained with a custom loss function. */
  readonly loss?: LossSpec;
};

/** An in-memory copy of a trainer's state (`trainer.snapshot()`); dispose it when done. */
export interface TrainerSnapshot {
  readonly json: TrainerStateJson;
  readonly weights: tf.NamedTensorMap;
  readonly slots: tf.NamedTensorMap;
  dispose(): void;
}

export interface FitResult {
  /** The logs of every epoch of this fit (all fits: `trainer.history`). */
  readonly history: readonly EpochRecord[];
  readonly stopReason: StopReason | undefined;
  readonly time: Time;
}

export interface EvaluateOptions {
  readonly batchSize?: number;
}

interface SignalState {
  stopFit: boolean;
  stopEpoch: boolean;
  skipBatch: boolean;
}

function requireInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `${name} must be an integer ≥ ${min}; got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

/**
 * The training loop. `fit` can be called again: time continues (DESIGN §2).
 */
export class Trainer {
  readonly model: tf.LayersModel;
  readonly optimizer: AnyOptimizer;
  /** Plugins in resolved order. */
  readonly plugins: readonly Plugin[];
  private readonly lossSpec: LossSpec;
  private readonly loss: ResolvedLoss;
  private readonly metrics: readonly ResolvedMetric[];
  private readonly hooks: HookRunner;
  private readonly logHub: LogHub;
  private readonly rng: SeededRandom;
  private readonly clock: MutableTime = initialTime();
  private readonly weights: readonly TrainableWeight[];
  private readonly stepDeps: StepDeps;
  private readonly needsBatchLogs: boolean;
  private readonly logEvery: number | undefined;
  private readonly smoothing: number;
  private readonly allHistory: EpochRecord[] = [];
  private readonly contexts = new Map<string, TrainerContext>();
  private readonly store = new HyperparamStore();
  private readonly bridge: OptimizerHparamBridge;
  private readonly accumulateBatches: number;
  private currentPlan: (FitPlanInfo & { batchesPerEpoch: number | undefined }) | undefined;
  private fitBatch = 0;
  private lastStop: StopReason | undefined;
  private busy: 'fit' | 'evaluate' | undefined;
  /** Where the running fit is, for `save()`: only epoch and batch ends are resume points. */
  private phase: 'idle' | 'busy' | 'batchEnd' | 'epochEnd' | 'fitEnd' = 'idle';
  private epochStartRng = 0;
  private epochState: { log: EpochLog; accumulator: GradientAccumulator | undefined } | undefined;
  /** A fit restored by `Trainer.load` that the next `fit()` continues. */
  private pendingResume: FitCheckpoint | undefined;

  constructor(options: TrainerOptions) {
    const { model } = options;
    if (!(model instanceof tf.LayersModel)) {
      throw new TensorloopError(
        'TL_MODEL_INVALID',
        'options.model must be a tf.LayersModel (tf.sequential(...) or tf.model(...)).',
      );
    }
    if (model instanceof tf.Sequential && !model.built) model.build();
    registerFileSystemRouter(); // file:// for pure @tensorflow/tfjs in Node (no-op elsewhere)
    this.model = model;
    const optimizer = options.optimizer;
    if (
      typeof optimizer !== 'object' ||
      optimizer === null ||
      typeof (optimizer as { applyGradients?: unknown }).applyGradients !== 'function'
    ) {
      throw new TensorloopError(
        'TL_OPTIMIZER_INVALID',
        'options.optimizer must be a tfjs optimizer (tf.train.sgd(0.1), tf.train.adam()) or a tensorloop optimizer (adamw({...})).',
      );
    }
    this.optimizer = optimizer;
    this.lossSpec = options.loss;
    this.loss = resolveLoss(options.loss, { hparams: this.store, time: this.clock });
    this.metrics = resolveMetrics(options.metrics, options.loss);
    this.rng = new SeededRandom(options.seed ?? 0);
    this.logEvery =
      options.logEvery === undefined ? undefined : requireInteger('logEvery', options.logEvery, 1);
    this.smoothing = options.smoothing ?? 0.98;
    if (!(this.smoothing >= 0 && this.smoothing < 1)) {
      throw new TensorloopError('TL_OPTION_INVALID', `smoothing must be in [0, 1); got ${this.smoothing}.`);
    }
    this.accumulateBatches = requireInteger('accumulateBatches', options.accumulateBatches ?? 1, 1);
    const clip = checkClip(options.gradientClip ?? {});
    this.logHub = new LogHub(options.log ?? 'console', () => this.clock);
    this.plugins = orderPlugins(options.plugins ?? []);
    this.needsBatchLogs = this.plugins.some((p) => p.needsBatchLogs === true);
    this.weights = collectTrainableWeights(model);
    makeFrozenBatchNormInfer(model, this.weights);
    if (isTensorloopOptimizer(optimizer)) optimizer.bind(this.weights);
    this.bridge = new OptimizerHparamBridge(this.store, optimizer);
    for (const [name, value] of Object.entries(options.hparams ?? {})) {
      this.store.define(name, value, { description: 'user value' });
    }
    for (const plugin of this.plugins) {
      for (const w of plugin.hparams ?? []) {
        this.store.declareWriter({
          plugin: plugin.name,
          name: w.name,
          mode: w.mode,
          ...(w.groups ? { groups: w.groups } : {}),
        });
      }
    }
    this.hooks = new HookRunner(
      this.plugins,
      (name) => this.contextFor(name),
      () => this.clock,
    );
    this.stepDeps = {
      model,
      loss: this.loss,
      metrics: this.metrics,
      optimizer,
      weights: this.weights,
      hooks: this.hooks,
      forward: (x) => model.apply(x, { training: true }) as tf.Tensor,
      clip,
      syncHyperparams: () => this.bridge.sync(),
    };
  }

  /** Live time counters. */
  get time(): Time {
    return this.clock;
  }

  /** Every epoch of every fit. */
  get history(): readonly EpochRecord[] {
    return this.allHistory;
  }

  /** The weights the trainer trains, in its fixed order. */
  get trainableWeights(): readonly TrainableWeight[] {
    return this.weights;
  }

  get logger(): TrainerContext['logger'] {
    return this.logHub.for('trainer');
  }

  /** The hyperparameter store; writes from here are attributed to `'user'`. */
  get hparams(): HyperparamAccess {
    return hparamView(this.store, USER_WRITER);
  }

  /** Param groups of a tensorloop optimizer (name, hyperparameters, variable names); one default group for tfjs ones. */
  get paramGroups(): readonly {
    name: string;
    hparams: Readonly<Record<string, number>>;
    variables: readonly string[];
  }[] {
    if (isTensorloopOptimizer(this.optimizer)) return (this.optimizer as TensorloopOptimizer).groups;
    return [
      {
        name: 'default',
        hparams: { lr: this.store.get('lr', { group: 'default' }) },
        variables: this.weights.map((w) => w.name),
      },
    ];
  }

  /** Freeze weights whose names match; returns the names that changed. Frozen BatchNorm layers infer. */
  freeze(pattern: ParamMatcher): string[] {
    return setTrainable(this.weights, pattern, false);
  }

  /** Unfreeze weights whose names match; their optimizer state resumes where it stopped. */
  unfreeze(pattern: ParamMatcher): string[] {
    return setTrainable(this.weights, pattern, true);
  }

  /** Every trainable-capable weight with its shape, trainable flag and param group. */
  parameters(): ParameterInfo[] {
    const opt = isTensorloopOptimizer(this.optimizer) ? (this.optimizer as TensorloopOptimizer) : undefined;
    return this.weights.map((w) => ({
      name: w.name,
      shape: [...w.variable.shape],
      trainable: w.layerVariable.trainable,
      group: opt ? opt.groupOf(w.name).name : 'default',
    }));
  }

  /** The context a plugin's hooks receive (one per plugin, so its logger is prefixed). */
  contextFor(self: string): TrainerContext {
    let ctx = this.contexts.get(self);
    if (!ctx) {
      ctx = createContext(this.contextHost, self);
      this.contexts.set(self, ctx);
    }
    return ctx;
  }

  /** Live views of this trainer for the plugin contexts. */
  private get contextHost(): ContextHost {
    const trainer = this;
    return {
      get time() {
        return trainer.clock;
      },
      model: this.model,
      optimizer: this.optimizer,
      get plan() {
        return trainer.currentPlan;
      },
      history: this.allHistory,
      get stopReason() {
        return trainer.lastStop;
      },
      plugins: this.plugins,
      store: this.store,
      logger: (self) => this.logHub.for(self),
      emit: (name, event) => this.hooks.emit(name as keyof HookEvents, event as never),
      freeze: (pattern) => this.freeze(pattern),
      unfreeze: (pattern) => this.unfreeze(pattern),
      parameters: () => this.parameters(),
      save: (dir) => this.save(dir),
    };
  }

  /** Train. Time continues from earlier fits on this trainer. */
  async fit(data: DataInput, options: FitOptions): Promise<FitResult> {
    const epochs = requireInteger('epochs', options?.epochs, 1);
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
    this.enter('fit');
    let source: DataSource | undefined;
    let validation: DataSource | undefined;
    try {
      source = toDataSource(data, 'Training data');
      validation =
        options.validationData === undefined
          ? undefined
          : toDataSource(options.validationData, 'validationData');
      await this.preflight(source, 'training data', options.checkData ?? true);
      if (validation) await this.preflight(validation, 'validationData', options.checkData ?? true);
      let resume = this.pendingResume;
      this.pendingResume = undefined;
      if (options.resumeFrom !== undefined) resume = await this.restoreFrom(options.resumeFrom);
      if (resume && epochs < resume.epochsDone) {
        throw new TensorloopError(
          'TL_OPTION_INVALID',
          `The checkpoint is at epoch ${resume.epochsDone} of a fit planned for ${resume.epochs} epochs; epochs: ${epochs} would end before it. Pass epochs: ${resume.epochs} to finish that fit.`,
        );
      }
      const batchesPerEpoch = stepsPerEpoch ?? source.batchesPerEpoch(batchSize) ?? resume?.batchesPerEpoch;
      this.currentPlan = {
        epochs,
        batchSize: source.kind === 'tensors' ? batchSize : undefined,
        stepsPerEpoch: batchesPerEpoch,
        batchesPerEpoch,
      };
      return await this.runFit(
        source,
        validation,
        {
          epochs,
          batchSize,
          shuffle: options.shuffle ?? true,
          stepsPerEpoch,
          validationBatchSize,
        },
        resume,
      );
    } finally {
      source?.dispose();
      validation?.dispose();
      this.busy = undefined;
      this.phase = 'idle';
    }
  }

  /** Loss and metrics over data, in inference mode: `{ loss, accuracy, ... }`. */
  async evaluate(data: DataInput, options: EvaluateOptions = {}): Promise<Logs> {
    const batchSize = requireInteger('batchSize', options.batchSize ?? 32, 1);
    this.enter('evaluate');
    let source: DataSource | undefined;
    try {
      source = toDataSource(data, 'Evaluation data');
      await this.preflight(source, 'evaluation data', true);
      await this.dispatch('onEvaluateStart', {
        batchSize: source.kind === 'tensors' ? batchSize : undefined,
      });
      const logs = await evaluateSource(this.stepDeps, source, batchSize);
      await this.dispatch('onEvaluateEnd', { logs });
      return logs;
    } finally {
      source?.dispose();
      this.busy = undefined;
    }
  }

  /** The model's predictions, in inference mode. The caller owns the result. */
  predict(x: tf.Tensor | tf.Tensor[], options: { batchSize?: number } = {}): tf.Tensor {
    const out = this.model.predict(x, { batchSize: options.batchSize ?? 32 });
    return Array.isArray(out) ? out[0]! : out;
  }

  /**
   * Write a checkpoint directory atomically (DESIGN §9). Call it between fits, or from a plugin's
   * `onEpochEnd` / `onBatchEnd` (the resume points of a running fit).
   */
  async save(dir: string): Promise<void> {
    const state = await this.collectState();
    try {
      await writeTrainerCheckpoint(dir, state.json, this.model, state.slots);
    } finally {
      tf.dispose(state.owned);
    }
  }

  /**
   * An in-memory copy of everything `save()` writes (weights cloned on the device), to return to
   * later with `restore()` — e.g. an LR range test that must leave the model as it found it.
   * Dispose it when done.
   */
  async snapshot(): Promise<TrainerSnapshot> {
    const state = await this.collectState();
    const slots: tf.NamedTensorMap = {};
    for (const [k, t] of Object.entries(state.slots)) slots[k] = tf.clone(t);
    tf.dispose(state.owned);
    const weights: tf.NamedTensorMap = {};
    for (const w of this.model.weights) weights[w.originalName] = tf.clone(w.read());
    let disposed = false;
    return {
      json: state.json,
      weights,
      slots,
      dispose: () => {
        if (disposed) return;
        disposed = true;
        tf.dispose([...Object.values(weights), ...Object.values(slots)] as tf.Tensor[]);
      },
    };
  }

  /** Return to a `snapshot()`: weights, optimizer state, time, RNG, hyperparameters, plugin state. */
  async restore(snapshot: TrainerSnapshot): Promise<void> {
    if (this.busy === 'fit' && this.phase !== 'fitEnd') {
      throw new TensorloopError(
        'TL_CHECKPOINT_INVALID',
        'restore() cannot run while a fit is running; call it after fit() returns.',
      );
    }
    await this.applyState(snapshot.json, snapshot.weights, snapshot.slots, 'the snapshot');
  }

  /** Everything a checkpoint holds, from the current state. `owned` tensors are the caller's to dispose. */
  private async collectState(): ReturnType<typeof collectTrainerState> {
    const inFit = this.busy === 'fit' && this.phase !== 'fitEnd';
    if (inFit && this.phase !== 'epochEnd' && this.phase !== 'batchEnd') {
      throw new TensorloopError(
        'TL_CHECKPOINT_INVALID',
        'save() / snapshot() was called while a fit is running outside onEpochEnd/onBatchEnd. Checkpoints inside a fit are taken at epoch or batch ends (the points a resume can continue from); call it from those hooks or after fit() returns.',
      );
    }
    const clock = this.clock;
    const plan = this.currentPlan;
    let fit: FitCheckpoint | undefined;
    let time: Time = snapshotTime(clock);
    if (inFit && plan) {
      const common = {
        index: clock.fitIndex,
        epochs: plan.epochs,
        fitStep: clock.fitStep,
        fitBatch: this.fitBatch,
        batchesPerEpoch: plan.batchesPerEpoch,
      };
      if (this.phase === 'epochEnd') {
        fit = { ...common, epochsDone: clock.fitEpoch + 1 };
        time = { ...time, epoch: clock.epoch + 1, fitEpoch: clock.fitEpoch + 1, epochBatch: 0 };
      } else {
        const epoch = this.epochState!;
        if (epoch.accumulator && epoch.accumulator.pending > 0) {
          throw new TensorloopError(
            'TL_CHECKPOINT_INVALID',
            `save() was called inside a gradient accumulation window (${epoch.accumulator.pending} of ${epoch.accumulator.k} micro-batches). Save after a batch whose event has stepped: true.`,
          );
        }
        const logState = await epoch.log.state();
        const epochBatch = clock.epochBatch + 1;
        fit = {
          ...common,
          epochsDone: clock.fitEpoch,
          midEpoch: { epochBatch, epochStartRng: this.epochStartRng, ...logState, sums: [...logState.sums] },
        };
        time = { ...time, epochBatch };
      }
    }
    return collectTrainerState(this.stateParts(), { time, fit, stopReason: this.lastStop });
  }

  private stateParts(): TrainerStateParts {
    return {
      model: this.model,
      optimizer: this.optimizer,
      weights: this.weights,
      plugins: this.plugins,
      store: this.store,
      rng: this.rng,
      clock: this.clock,
      history: this.allHistory,
      loss: typeof this.lossSpec === 'string' ? this.lossSpec : null,
      logger: this.logger,
    };
  }

  /**
   * A trainer restored from a checkpoint. The model is rebuilt from the saved topology unless you
   * pass one; the optimizer is rebuilt from its saved type unless you pass one; loss functions,
   * metrics and plugins are code, so pass them again (a string loss is remembered). The next
   * `fit()` continues a fit the checkpoint was taken in.
   */
  static async load(dir: string, options: TrainerLoadOptions): Promise<Trainer> {
    const contents = await readTrainerCheckpoint(dir);
    let model: tf.LayersModel;
    try {
      model = options.model ?? (await tf.loadLayersModel(tf.io.fromMemory(contents.modelArtifacts)));
    } finally {
      tf.dispose([...Object.values(contents.weights), ...Object.values(contents.slots)] as tf.Tensor[]);
    }
    const loss = options.loss ?? (contents.json.loss as LossSpec | null) ?? undefined;
    if (loss === undefined) {
      throw new TensorloopError(
        'TL_LOSS_UNKNOWN',
        `${dir} was trained with a custom loss function, which a checkpoint cannot hold. Pass it again: Trainer.load(dir, { loss }).`,
      );
    }
    const optimizer = options.optimizer ?? recreateOptimizer(contents.json.optimizer);
    const trainer = new Trainer({ ...options, model, optimizer, loss });
    trainer.pendingResume = await trainer.restoreFrom(dir);
    return trainer;
  }

  /** Validate a checkpoint against this trainer, then apply it. Returns the fit to continue, if any. */
  private async restoreFrom(dir: string): Promise<FitCheckpoint | undefined> {
    const { json, weights, slots } = await readTrainerCheckpoint(dir);
    try {
      return await this.applyState(json, weights, slots, dir);
    } finally {
      tf.dispose([...Object.values(weights), ...Object.values(slots)] as tf.Tensor[]);
    }
  }

  /** Validate saved state against this trainer, then apply it. Returns the fit to continue, if any. */
  private async applyState(
    json: TrainerStateJson,
    weights: tf.NamedTensorMap,
    slots: tf.NamedTensorMap,
    where: string,
  ): Promise<FitCheckpoint | undefined> {
    const { fit, stopReason } = await applyTrainerState(this.stateParts(), json, weights, slots, where);
    this.lastStop = stopReason;
    if (fit) {
      this.currentPlan = {
        epochs: fit.epochs,
        stepsPerEpoch: fit.batchesPerEpoch,
        batchesPerEpoch: fit.batchesPerEpoch,
        batchSize: undefined,
      };
    }
    return fit;
  }

  /** The resolved plan, as text: plugin order, hook order per event, planned duration. */
  describe(): string {
    return describePlan({
      model: this.model,
      loss: this.loss.name,
      metrics: this.metrics.map((m) => m.name),
      optimizer: this.optimizer,
      plugins: this.plugins,
      hooks: this.hooks,
      weights: this.weights,
      plan: this.currentPlan,
      time: this.clock,
      backend: tf.getBackend(),
      writers: this.store.writers(),
    });
  }

  private enter(what: 'fit' | 'evaluate'): void {
    if (this.busy) {
      throw new TensorloopError(
        'TL_FIT_CONCURRENT',
        `${what}() was called while ${this.busy}() is still running on this trainer. Await the running call first.`,
      );
    }
    this.busy = what;
  }

  private async preflight(source: DataSource, where: string, checkData: boolean): Promise<void> {
    const sample = await sampleForValidation(source);
    if (!sample) return;
    checkShapes(this.model, sample, this.lossSpec, where);
    if (checkData) await checkFinite(sample, where);
  }

  private async dispatch<K extends CoreEventName>(hook: K, event: HookEvents[K]): Promise<RaisedSignal[]> {
    return this.hooks.emit(hook, event, (r) => this.recordStop(r));
  }

  /** The first stop of a fit wins; recorded as soon as it is raised. */
  private recordStop(r: RaisedSignal): void {
    if (r.signal.signal !== 'stop') return;
    this.lastStop ??= {
      by: r.plugin,
      message: r.signal.reason,
      hook: r.hook,
      time: snapshotTime(this.clock),
    };
  }

  private applySignals(raised: readonly RaisedSignal[], state: SignalState): void {
    for (const r of raised) {
      if (r.signal.signal === 'stop') {
        state.stopFit = true;
        this.recordStop(r);
      } else if (r.signal.signal === 'stopEpoch') {
        state.stopEpoch = true;
      } else {
        state.skipBatch = true;
      }
    }
  }

  private updateFraction(): void {
    const plan = this.currentPlan;
    if (!plan) return;
    if (plan.batchesPerEpoch !== undefined) {
      this.clock.fraction = Math.min(1, this.fitBatch / (plan.epochs * plan.batchesPerEpoch));
    } else {
      this.clock.fraction = fractionOf(this.clock, { epochs: plan.epochs, stepsPerEpoch: undefined });
    }
  }

  private async runFit(
    source: DataSource,
    validation: DataSource | undefined,
    opts: {
      epochs: number;
      batchSize: number;
      shuffle: boolean;
      stepsPerEpoch: number | undefined;
      validationBatchSize: number;
    },
    resume: FitCheckpoint | undefined,
  ): Promise<FitResult> {
    const clock = this.clock;
    if (resume) {
      // Continue the fit the checkpoint was taken in: counters, stop and history are restored.
      this.fitBatch = resume.fitBatch;
    } else {
      clock.fitIndex += 1;
      clock.fitEpoch = 0;
      clock.fitStep = 0;
      clock.epochBatch = 0;
      clock.fraction = 0;
      this.fitBatch = 0;
      this.lastStop = undefined;
    }
    const fitHistory: EpochRecord[] = this.allHistory.filter((h) => resume && h.fitIndex === clock.fitIndex);
    const plan = this.currentPlan!;
    let fitEndSent = false;
    let epochsRun = resume?.epochsDone ?? 0;
    this.phase = 'busy';
    try {
      const state: SignalState = { stopFit: this.lastStop !== undefined, stopEpoch: false, skipBatch: false };
      this.applySignals(
        await this.dispatch('onFitStart', {
          epochs: opts.epochs,
          stepsPerEpoch: plan.stepsPerEpoch,
          batchSize: plan.batchSize,
          fitIndex: clock.fitIndex,
          hasValidation: validation !== undefined,
          resumed: resume !== undefined,
        }),
        state,
      );
      for (let fitEpoch = resume?.epochsDone ?? 0; fitEpoch < opts.epochs && !state.stopFit; fitEpoch++) {
        const midEpoch = fitEpoch === resume?.epochsDone ? resume.midEpoch : undefined;
        clock.fitEpoch = fitEpoch;
        clock.epochBatch = midEpoch?.epochBatch ?? 0;
        state.stopEpoch = false;
        if (!midEpoch) {
          // (A mid-epoch resume continues an epoch whose start was already announced.)
          this.applySignals(await this.dispatch('onEpochStart', { epoch: clock.epoch, fitEpoch }), state);
        }
        if (state.stopFit) break;
        const partial = await this.runEpoch(source, opts, state, midEpoch);
        const logs: Logs = partial.logs;
        const stoppedMidEpoch = state.stopFit;
        if (validation && !stoppedMidEpoch) {
          await this.dispatch('onValidationStart', { epoch: clock.epoch });
          const valLogs = await evaluateSource(this.stepDeps, validation, opts.validationBatchSize, 'val_');
          Object.assign(logs, valLogs);
          this.applySignals(
            await this.dispatch('onValidationEnd', { epoch: clock.epoch, logs: valLogs }),
            state,
          );
        }
        const record: EpochRecord = { epoch: clock.epoch, fitIndex: clock.fitIndex, logs };
        this.allHistory.push(record);
        fitHistory.push(record);
        this.phase = 'epochEnd';
        this.applySignals(
          await this.dispatch('onEpochEnd', {
            epoch: clock.epoch,
            fitEpoch,
            logs,
            partial: stoppedMidEpoch || state.stopEpoch,
          }),
          state,
        );
        this.phase = 'busy';
        clock.epoch += 1;
        clock.fitEpoch = fitEpoch + 1;
        epochsRun += 1;
        if (plan.batchesPerEpoch === undefined && fitEpoch === 0 && !partial.cutShort) {
          plan.batchesPerEpoch = partial.batches;
          (plan as { stepsPerEpoch: number | undefined }).stepsPerEpoch = partial.batches;
        }
        this.updateFraction();
      }
      const completed = epochsRun === opts.epochs && this.lastStop === undefined;
      if (completed) clock.fraction = 1;
      fitEndSent = true;
      this.phase = 'fitEnd';
      await this.dispatch('onFitEnd', {
        history: fitHistory,
        stopReason: this.lastStop,
        error: undefined,
        completed,
      });
      const stopReason = this.stopReasonOfFit();
      if (stopReason) this.logger.info(`stopped by ${stopReason.by}: ${stopReason.message}`);
      return { history: fitHistory, stopReason, time: snapshotTime(clock) };
    } catch (cause) {
      const error =
        cause instanceof TensorloopError
          ? cause
          : wrapHookError(cause, 'trainer', 'fit', snapshotTime(clock));
      await this.notifyFailure(error, fitHistory, fitEndSent);
      throw error;
    }
  }

  private stopReasonOfFit(): StopReason | undefined {
    return this.lastStop;
  }

  /** onException then onFitEnd, each handler isolated: a failing handler is logged, not rethrown. */
  private async notifyFailure(
    error: TensorloopError,
    history: EpochRecord[],
    fitEndSent: boolean,
  ): Promise<void> {
    const safely = async <K extends CoreEventName>(hook: K, event: HookEvents[K]) => {
      for (const plugin of this.plugins) {
        const handler = plugin[hook as keyof Plugin];
        if (handler === undefined) continue;
        const fn = (typeof handler === 'function' ? handler : (handler as { handler: unknown }).handler) as (
          ctx: TrainerContext,
          e: HookEvents[K],
        ) => unknown;
        try {
          await fn(this.contextFor(plugin.name), event);
        } catch (inner) {
          this.logger.warn(
            `${plugin.name}.${hook} failed while handling an earlier error: ${(inner as Error)?.message ?? String(inner)}`,
          );
        }
      }
    };
    await safely('onException', { error });
    if (!fitEndSent) {
      await safely('onFitEnd', { history, stopReason: this.lastStop, error, completed: false });
    }
  }

  private async runEpoch(
    source: DataSource,
    opts: { batchSize: number; shuffle: boolean; stepsPerEpoch: number | undefined },
    state: SignalState,
    resumeAt: FitCheckpoint['midEpoch'],
  ): Promise<{ logs: Logs; batches: number; cutShort: boolean }> {
    const log = new EpochLog(['loss', ...this.metrics.map((m) => m.name)], this.smoothing);
    const accumulator =
      this.accumulateBatches > 1 ? new GradientAccumulator(this.accumulateBatches) : undefined;
    let batches = 0;
    let cutShort = false;
    if (resumeAt) {
      // Replay the epoch's shuffle order and its running logs up to the checkpoint.
      this.rng.setState(resumeAt.epochStartRng);
      log.restore(resumeAt);
    }
    this.epochStartRng = this.rng.getState();
    this.epochState = { log, accumulator };
    try {
      const iterator = source.epoch({
        batchSize: opts.batchSize,
        shuffle: opts.shuffle,
        rng: this.rng,
        batchesPerEpoch: opts.stepsPerEpoch,
      });
      for await (const pending of iterator) {
        if (resumeAt && batches < resumeAt.epochBatch) {
          pending.release(); // trained before the checkpoint
          batches += 1;
          continue;
        }
        try {
          await this.runBatch(pending, log, state, accumulator);
        } finally {
          pending.release();
        }
        batches += 1;
        if (state.stopFit || state.stopEpoch) {
          cutShort = true;
          break;
        }
      }
      // An accumulation window cut by the end of the epoch still steps (rescaled to a mean);
      // one cut by a stop of the whole fit is dropped.
      if (accumulator && !state.stopFit && flushAccumulated(this.stepDeps, accumulator)) {
        this.clock.step += 1;
        this.clock.fitStep += 1;
      }
      const logs = await log.read();
      return { logs, batches, cutShort };
    } finally {
      log.dispose();
      accumulator?.dispose();
      this.epochState = undefined;
    }
  }

  private async runBatch(
    pending: PendingBatch,
    log: EpochLog,
    state: SignalState,
    accumulator: GradientAccumulator | undefined,
  ): Promise<void> {
    const clock = this.clock;
    const batchIndex = clock.epochBatch;
    state.skipBatch = false;
    if (this.hooks.has('onBatchStart')) {
      this.applySignals(
        await this.dispatch('onBatchStart', { batch: batchIndex, size: pending.size }),
        state,
      );
    }
    let output: StepOutput | undefined;
    let loss: tf.Scalar | undefined;
    let trained = false;
    let stepped = false;
    try {
      if (!state.skipBatch && !state.stopFit) {
        output = trainStep(this.stepDeps, pending, accumulator);
        trained = true;
        stepped = output.stepped;
        clock.sample += pending.size;
        if (output.stepped) {
          clock.step += 1;
          clock.fitStep += 1;
        }
      }
      clock.batch += 1;
      this.fitBatch += 1;
      this.updateFraction();
      const wantsEvent = this.hooks.has('onBatchEnd');
      let logs: Logs | undefined;
      const row = output?.values;
      if (row && wantsEvent) {
        if (this.needsBatchLogs || (this.logEvery !== undefined && clock.batch % this.logEvery === 0)) {
          const values = await row.data();
          logs = { loss: values[0]! };
          this.metrics.forEach((m, i) => {
            logs![m.name] = values[i + 1]!;
          });
        }
      }
      // The epoch log owns the row from here (read once at the epoch end; a checkpoint taken in
      // onBatchEnd includes this batch).
      if (output) log.add(output.values, pending.size);
      output = undefined;
      if (wantsEvent) {
        this.phase = 'batchEnd';
        this.applySignals(
          await this.dispatch('onBatchEnd', {
            batch: batchIndex,
            size: pending.size,
            skipped: !trained,
            stepped,
            logs,
            // Made on first read only: most batch-end handlers never touch the device loss.
            get loss() {
              if (row && !loss) loss = tf.tidy(() => tf.reshape(tf.slice(row, 0, 1), [])) as tf.Scalar;
              return loss;
            },
          }),
          state,
        );
      }
    } finally {
      this.phase = 'busy';
      output?.values.dispose();
      loss?.dispose();
      clock.epochBatch = batchIndex + 1;
    }
  }
}

function checkClip(clip: GradientClipOptions): GradientClipOptions {
  for (const key of ['maxNorm', 'maxValue'] as const) {
    const v = clip[key];
    if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v))) {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `gradientClip.${key} must be a positive number; got ${String(v)}.`,
      );
    }
  }
  return clip;
}
