import * as tf from '@tensorflow/tfjs';
import { registerFileSystemRouter } from './checkpoint/file-handler.js';
import { recreateOptimizer } from './checkpoint/recreate-optimizer.js';
import { snapshotOf, type TrainerSnapshot } from './checkpoint/snapshot.js';
import {
  disposeMaps,
  type FitCheckpoint,
  readTrainerCheckpoint,
  writeTrainerCheckpoint,
} from './checkpoint/trainer-checkpoint.js';
import {
  applyTrainerState,
  type CollectedState,
  collectTrainerState,
  type TrainerStateJson,
  type TrainerStateParts,
} from './checkpoint/trainer-state.js';
import { type ContextHost, createContext, hparamView } from './context.js';
import { type DataInput, type DataSource, toDataSource } from './data.js';
import { describePlan } from './describe.js';
import { TensorloopError } from './errors.js';
import { makeFrozenBatchNormInfer, type ParameterInfo, setTrainable } from './freezing.js';
import { HookRunner } from './hooks.js';
import { OptimizerHparamBridge } from './hparam-bridge.js';
import { HyperparamStore, USER_WRITER } from './hyperparams.js';
import { LogHub } from './logger.js';
import { evaluateSource } from './loop/evaluate.js';
import { FitLoop, type FitResult } from './loop/fit-loop.js';
import type { StepDeps } from './loop/step.js';
import { type LossSpec, type ResolvedLoss, resolveLoss } from './losses.js';
import { type ResolvedMetric, resolveMetrics } from './metrics.js';
import {
  checkEvaluateOptionKeys,
  checkFitOptionKeys,
  checkTrainerOptionKeys,
  compiledDefaults,
  splitForValidation,
} from './model-fit-compat.js';
import type { ParamMatcher, TensorloopOptimizer } from './optim/types.js';
import { type AnyOptimizer, isTensorloopOptimizer } from './optimizer-seam.js';
import {
  checkFitOptions,
  checkModel,
  checkOptimizer,
  checkTrainerOptions,
  type EvaluateOptions,
  type FitOptions,
  requireInteger,
  type TrainerLoadOptions,
  type TrainerOptions,
} from './options.js';
import type { EpochRecord, HookEvents, HyperparamAccess, Logs, Plugin, TrainerContext } from './plugin.js';
import { PluginList } from './plugin-list.js';
import { SeededRandom } from './rng.js';
import { Clock, type Time } from './time.js';
import { preflight } from './validate.js';
import { collectTrainableWeights, type TrainableWeight } from './variables.js';

export type { TrainerSnapshot } from './checkpoint/snapshot.js';

export type { FitResult } from './loop/fit-loop.js';
export type { EvaluateOptions, FitOptions, TrainerLoadOptions, TrainerOptions } from './options.js';

/**
 * The training loop's facade: checks the options, wires the parts (hooks, clock, step, fit loop,
 * checkpoints) and offers the public API. The loop itself lives in `loop/`. `fit` can be called
 * again: time continues (DESIGN §2).
 */
export class Trainer {
  readonly model: tf.LayersModel;
  private currentOptimizer: AnyOptimizer;
  private readonly pluginList: PluginList;
  private readonly lossSpec: LossSpec;
  private readonly loss: ResolvedLoss;
  private readonly metrics: readonly ResolvedMetric[];
  private readonly hooks: HookRunner;
  private readonly logHub: LogHub;
  private readonly rng: SeededRandom;
  private readonly clock = new Clock();
  private readonly weights: readonly TrainableWeight[];
  private readonly stepDeps: StepDeps;
  private readonly loop: FitLoop;
  private readonly allHistory: EpochRecord[] = [];
  private readonly contexts = new Map<string, TrainerContext>();
  private readonly store = new HyperparamStore();
  private bridge: OptimizerHparamBridge;
  private busy: 'fit' | 'evaluate' | undefined;
  /** Reset stateful RNN layers at each epoch start and before validation/evaluation (fastai's ModelResetter). */
  private readonly statefulReset: boolean;
  /** A fit restored by `Trainer.load` that the next `fit()` continues. */
  private pendingResume: FitCheckpoint | undefined;

  constructor(options: TrainerOptions) {
    if (typeof options === 'object' && options !== null) checkTrainerOptionKeys(options);
    const model = checkModel(options?.model);
    registerFileSystemRouter(); // file:// for pure @tensorflow/tfjs in Node (no-op elsewhere)
    this.model = model;
    // A compiled model brings its loss, optimizer and metrics, as model.fit would use them.
    const compiled = compiledDefaults(model);
    const optimizer = checkOptimizer(options.optimizer ?? compiled.optimizer);
    this.currentOptimizer = optimizer;
    const lossSpec = options.loss ?? compiled.loss;
    if (lossSpec === undefined) {
      throw new TensorloopError(
        'TL_LOSS_UNKNOWN',
        "options.loss is required (a loss name such as 'categoricalCrossentropy' or (yTrue, yPred) => tensor), unless the model was compile()d with one.",
      );
    }
    this.lossSpec = lossSpec;
    this.loss = resolveLoss(lossSpec, { hparams: this.store, time: this.clock.time });
    this.metrics = resolveMetrics(options.metrics ?? compiled.metrics, lossSpec);
    this.rng = new SeededRandom(options.seed ?? 0);
    const checked = checkTrainerOptions(options);
    this.logHub = new LogHub(options.log ?? 'console', () => this.clock.time);
    const overridden = (['loss', 'optimizer', 'metrics'] as const).filter(
      (k) => options[k] !== undefined && compiled[k] !== undefined,
    );
    if (overridden.length > 0) {
      this.logger.info(
        `the model was compiled with its own ${overridden.join(', ')}; the Trainer's options are used instead.`,
      );
    }
    this.pluginList = new PluginList(options.plugins ?? [], this.store);
    this.weights = collectTrainableWeights(model);
    makeFrozenBatchNormInfer(model, this.weights);
    if (isTensorloopOptimizer(optimizer)) optimizer.bind(this.weights);
    this.bridge = new OptimizerHparamBridge(this.store, optimizer);
    this.defineHyperparams(options.hparams ?? {});
    this.hooks = new HookRunner(
      this.plugins,
      (name) => this.contextFor(name),
      () => this.clock.time,
    );
    const trainer = this;
    this.stepDeps = {
      model,
      loss: this.loss,
      metrics: this.metrics,
      get optimizer() {
        return trainer.currentOptimizer;
      },
      weights: this.weights,
      hooks: this.hooks,
      clip: checked.clip,
      syncHyperparams: () => this.bridge.sync(),
    };
    this.loop = new FitLoop({
      clock: this.clock,
      hooks: this.hooks,
      rng: this.rng,
      step: this.stepDeps,
      history: this.allHistory,
      logger: this.logger,
      smoothing: checked.smoothing,
      accumulateBatches: checked.accumulateBatches,
      get needsBatchLogs() {
        return trainer.plugins.some((p) => p.needsBatchLogs === true);
      },
      logEvery: checked.logEvery,
      seed: options.seed ?? 0,
      hyperparamLogs: () => this.bridge.lrLogs(),
      resetStates: () => this.resetStates(),
    });
    this.statefulReset = checked.resetStates === 'epoch' && isStateful(model);
  }

  private resetStates(): void {
    if (this.statefulReset) this.model.resetStates();
  }

  /** User values and every plugin's declared writers, so conflicts fail at construction. */
  private defineHyperparams(values: Readonly<Record<string, number>>): void {
    for (const [name, value] of Object.entries(values)) {
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
  }

  /** The optimizer the next step uses (see `setOptimizer`). */
  get optimizer(): AnyOptimizer {
    return this.currentOptimizer;
  }

  /** Plugins in resolved order (those added with `addPlugins` included). */
  get plugins(): readonly Plugin[] {
    return this.pluginList.ordered;
  }

  /** Live time counters. */
  get time(): Time {
    return this.clock.time;
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

  /**
   * Enter stage `stage` of a multi-stage run (what a driver such as the meta-trainer calls between
   * fits): `time.stage` becomes `stage`, `time.stageEpoch` and `time.stageStep` start at 0.
   */
  enterStage(stage: number): void {
    requireInteger('stage', stage, 0);
    if (this.busy === 'fit') {
      throw new TensorloopError(
        'TL_FIT_CONCURRENT',
        'enterStage() was called while fit() is running; call it between fits.',
      );
    }
    this.clock.enterStage(stage);
  }

  /**
   * Add plugins between fits (a multi-stage driver's stage plugins): they are ordered with the
   * others, their hyperparameter writers declared, their state checkpointed while they are added.
   * Returns the function that removes them again (between fits), which also forgets the
   * hyperparameter values they wrote.
   */
  addPlugins(plugins: readonly Plugin[]): () => void {
    this.requireBetweenFits('addPlugins()');
    const remove = this.pluginList.add(plugins);
    try {
      this.hooks.setPlugins(this.plugins);
    } catch (error) {
      remove(); // a hook that is not a function: nothing changes
      throw error;
    }
    return () => {
      this.requireBetweenFits('removing added plugins');
      remove();
      this.hooks.setPlugins(this.plugins);
    };
  }

  /**
   * Train with another optimizer from the next fit on (a stage's own optimizer). Its hyperparameters
   * become the store's base values (values plugins or you set keep winning). Returns the previous
   * optimizer, which the caller still owns (dispose it when done).
   */
  setOptimizer(optimizer: AnyOptimizer): AnyOptimizer {
    this.requireBetweenFits('setOptimizer()');
    const next = checkOptimizer(optimizer);
    const previous = this.currentOptimizer;
    if (next === previous) return previous;
    if (isTensorloopOptimizer(next)) next.bind(this.weights);
    this.bridge = new OptimizerHparamBridge(this.store, next, true);
    this.currentOptimizer = next;
    return previous;
  }

  /**
   * Apply a checkpoint now, between fits (weights, optimizer state, time, RNG, hyperparameters,
   * frozen set, history, plugin state); the next `fit()` continues the fit it was taken in, if any.
   * `fit(data, { resumeFrom })` does both in one call.
   */
  async loadCheckpoint(dir: string): Promise<void> {
    this.requireBetweenFits('loadCheckpoint()');
    this.pendingResume = await this.restoreFrom(dir);
  }

  private requireBetweenFits(what: string): void {
    if (this.busy) {
      throw new TensorloopError(
        'TL_FIT_CONCURRENT',
        `${what} was called while ${this.busy}() is running; call it between fits.`,
      );
    }
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
        return trainer.clock.time;
      },
      model: this.model,
      get optimizer() {
        return trainer.currentOptimizer;
      },
      get plan() {
        return trainer.loop.plan;
      },
      history: this.allHistory,
      get stopReason() {
        return trainer.loop.stopReason;
      },
      get plugins() {
        return trainer.plugins;
      },
      store: this.store,
      metricDirections: new Map(
        this.metrics.flatMap((m) => (m.direction ? [[m.name, m.direction] as const] : [])),
      ),
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
    if (typeof options === 'object' && options !== null) checkFitOptionKeys(options);
    const opts = checkFitOptions(options);
    this.enter('fit');
    let source: DataSource | undefined;
    let validation: DataSource | undefined;
    let split: ReturnType<typeof splitForValidation>;
    try {
      split = splitForValidation(data, options.validationSplit, options.validationData !== undefined);
      source = toDataSource(split?.train ?? data, 'Training data');
      const validationData = split?.validation ?? options.validationData;
      validation = validationData === undefined ? undefined : toDataSource(validationData, 'validationData');
      await preflight(this.model, this.lossSpec, source, 'training data', opts.checkData);
      if (validation)
        await preflight(this.model, this.lossSpec, validation, 'validationData', opts.checkData);
      let resume = this.pendingResume;
      this.pendingResume = undefined;
      if (options.resumeFrom !== undefined) resume = await this.restoreFrom(options.resumeFrom);
      if (resume && opts.epochs < resume.epochsDone) {
        throw new TensorloopError(
          'TL_OPTION_INVALID',
          `The checkpoint is at epoch ${resume.epochsDone} of a fit planned for ${resume.epochs} epochs; epochs: ${opts.epochs} would end before it. Pass epochs: ${resume.epochs} to finish that fit.`,
        );
      }
      const batchesPerEpoch =
        opts.stepsPerEpoch ?? source.batchesPerEpoch(opts.batchSize) ?? resume?.batchesPerEpoch;
      return await this.loop.run(
        { source, validation },
        {
          ...opts,
          batchesPerEpoch,
          reportedBatchSize: source.kind === 'tensors' ? opts.batchSize : undefined,
        },
        resume,
      );
    } finally {
      source?.dispose();
      validation?.dispose();
      if (split) tf.dispose([split.train.x, split.train.y, split.validation.x, split.validation.y].flat());
      this.busy = undefined;
    }
  }

  /** Loss and metrics over data, in inference mode: `{ loss, accuracy, ... }`. */
  async evaluate(data: DataInput, options: EvaluateOptions = {}): Promise<Logs> {
    checkEvaluateOptionKeys(options);
    const batchSize = requireInteger('batchSize', options.batchSize ?? 32, 1);
    this.enter('evaluate');
    let source: DataSource | undefined;
    try {
      source = toDataSource(data, 'Evaluation data');
      await preflight(this.model, this.lossSpec, source, 'evaluation data', true);
      await this.hooks.emit('onEvaluateStart', {
        batchSize: source.kind === 'tensors' ? batchSize : undefined,
      });
      this.resetStates();
      const logs = await evaluateSource(this.stepDeps, source, batchSize);
      await this.hooks.emit('onEvaluateEnd', { logs });
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
      await writeTrainerCheckpoint(dir, state.json, this.model, state.slots, state.pluginTensors);
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
    return snapshotOf(await this.collectState(), this.model);
  }

  /** Return to a `snapshot()`: weights, optimizer state, time, RNG, hyperparameters, plugin state. */
  async restore(snapshot: TrainerSnapshot): Promise<void> {
    if (this.busy === 'fit' && this.loop.position !== 'fitEnd') {
      throw new TensorloopError(
        'TL_CHECKPOINT_INVALID',
        'restore() cannot run while a fit is running; call it after fit() returns.',
      );
    }
    const { json, weights, slots, pluginTensors } = snapshot;
    await this.applyState(json, weights, slots, pluginTensors ?? {}, 'the snapshot');
  }

  /** Everything a checkpoint holds, at the loop's current resume point. */
  private async collectState(): Promise<CollectedState> {
    const at = await this.loop.resumePoint(this.busy === 'fit');
    return collectTrainerState(this.stateParts(), at);
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
      disposeMaps(contents.weights, contents.slots, contents.pluginTensors);
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
    const { json, weights, slots, pluginTensors } = await readTrainerCheckpoint(dir);
    try {
      return await this.applyState(json, weights, slots, pluginTensors, dir);
    } finally {
      disposeMaps(weights, slots, pluginTensors);
    }
  }

  /** Validate saved state against this trainer, then apply it. Returns the fit to continue, if any. */
  private async applyState(
    json: TrainerStateJson,
    weights: tf.NamedTensorMap,
    slots: tf.NamedTensorMap,
    pluginTensors: tf.NamedTensorMap,
    where: string,
  ): Promise<FitCheckpoint | undefined> {
    const parts = this.stateParts();
    const { fit, stopReason } = await applyTrainerState(parts, json, weights, slots, pluginTensors, where);
    this.loop.restored(fit, stopReason);
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
      plan: this.loop.plan,
      time: this.clock.time,
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
}

/** True when a layer (or a nested model) keeps state across batches: a `stateful` RNN. */
function isStateful(model: tf.LayersModel): boolean {
  return (model as unknown as { stateful?: boolean }).stateful === true;
}
