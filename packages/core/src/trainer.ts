import * as tf from '@tensorflow/tfjs';
import { callbacksPlugin, checkCallbacks } from './callbacks-bridge.js';
import { registerFileSystemRouter } from './checkpoint/file-handler.js';
import type { TrainerSnapshot } from './checkpoint/snapshot.js';
import type { FitCheckpoint } from './checkpoint/trainer-checkpoint.js';
import { loadParts, TrainerCheckpoints } from './checkpoint/trainer-io.js';
import type { TrainerStateParts } from './checkpoint/trainer-state.js';
import { type ContextHost, createContext, hparamView } from './context.js';
import { type DataInput, type DataSource, toDataSource } from './data.js';
import { describePlan } from './describe.js';
import { checkVerbose, epochLinePrinter, epochLineWanted } from './epoch-line.js';
import { TensorloopError } from './errors.js';
import { makeFrozenBatchNormInfer, type ParameterInfo, setTrainable } from './freezing.js';
import { HookRunner } from './hooks.js';
import { OptimizerHparamBridge } from './hparam-bridge.js';
import { HyperparamStore, USER_WRITER } from './hyperparams.js';
import { LogHub } from './logger.js';
import { withinDataTimeout } from './loop/data-timeout.js';
import { evaluateSource } from './loop/evaluate.js';
import { type PreparedFitData, prepareFitData } from './loop/fit-data.js';
import { FitLoop, type FitResult } from './loop/fit-loop.js';
import { gradientSourceOf } from './loop/gradient-source.js';
import { NonFiniteWatch } from './loop/non-finite.js';
import { checkResumedEpochs } from './loop/resume-point.js';
import type { StepDeps } from './loop/step.js';
import { resolveStepGateMode } from './loop/step-gate.js';
import { checkYieldOption, createYieldPolicy } from './loop/yield-policy.js';
import { type LossSpec, type ResolvedLoss, resolveLoss } from './losses.js';
import { metricDirectionsOf, type ResolvedMetric, resolveMetrics } from './metrics.js';
import {
  checkEvaluateOptionKeys,
  checkFitOptionKeys,
  checkTrainerOptionKeys,
  resolveTrainingSpec,
} from './model-fit-compat.js';
import type { ParamMatcher } from './optim/types.js';
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
import { type ParamGroupInfo, parametersOf, paramGroupsOf } from './parameters.js';
import type { EpochRecord, HookEvents, HyperparamAccess, Logs, Plugin, TrainerContext } from './plugin.js';
import { declareWriters, PluginList } from './plugin-list.js';
import { SeededRandom } from './rng.js';
import { shownValue } from './shown-value.js';
import { stateResetter } from './stateful.js';
import { Clock, type Time } from './time.js';
import { preflight } from './validate.js';
import { collectTrainableWeights, type TrainableWeight } from './variables.js';
import { progressForVerbose } from './verbose.js';
import { weightWriters } from './weight-writers.js';

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
  private readonly checkpoints: TrainerCheckpoints;
  private readonly allHistory: EpochRecord[] = [];
  private readonly contexts = new Map<string, TrainerContext>();
  private readonly store = new HyperparamStore();
  private bridge: OptimizerHparamBridge;
  private busy: 'fit' | 'evaluate' | undefined;
  /** Resets stateful RNN layers at each epoch start and before validation/evaluation (fastai's ModelResetter). */
  private readonly resetStates: () => void;
  /** A fit restored by `Trainer.load` that the next `fit()` continues. */
  private pendingResume: FitCheckpoint | undefined;
  /** The `log` option (`'silent'` turns core's epoch line off). */
  private readonly logOption: TrainerOptions['log'];
  /** Whether the current fit prints core's epoch line (`epoch-line.ts`). */
  private epochLineOn = false;

  constructor(options: TrainerOptions) {
    if (typeof options === 'object' && options !== null) checkTrainerOptionKeys(options);
    const model = checkModel(options?.model);
    registerFileSystemRouter(); // file:// for pure @tensorflow/tfjs in Node (no-op elsewhere)
    this.model = model;
    const spec = resolveTrainingSpec(options, model); // a compiled model's loss, optimizer, metrics
    const optimizer = checkOptimizer(spec.optimizer);
    this.currentOptimizer = optimizer;
    this.lossSpec = spec.loss;
    this.loss = resolveLoss(spec.loss, { hparams: this.store, time: this.clock.time });
    this.metrics = resolveMetrics(spec.metrics, spec.loss);
    const checked = checkTrainerOptions(options);
    this.rng = new SeededRandom(options.seed ?? 0);
    this.logOption = options.log ?? 'console';
    this.logHub = new LogHub(this.logOption, () => this.clock.time);
    if (spec.note) this.logger.info(spec.note);
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
    const nonFinite = new NonFiniteWatch(checked.onNonFinite, () => this.clock.time, this.logger);
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
      gateMode: () => resolveStepGateMode(checked.stepGate, tf.getBackend()),
      gradientSource: () => gradientSourceOf(trainer.plugins),
      nonFinite,
    };
    this.loop = new FitLoop({
      clock: this.clock,
      hooks: this.hooks,
      get plugins() {
        return trainer.plugins;
      },
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
      onEpochDone: epochLinePrinter(
        (line) => this.logHub.print('trainer', line),
        () => this.epochLineOn,
      ),
      nonFinite,
      yieldPolicy: createYieldPolicy(checkYieldOption(options.yield)),
    });
    this.resetStates = stateResetter(model, checked.resetStates);
    this.checkpoints = new TrainerCheckpoints({
      parts: () => this.stateParts(),
      fitRunning: () => this.busy === 'fit',
      loop: this.loop,
    });
  }

  /** User values and every plugin's declared writers, so conflicts fail at construction. */
  private defineHyperparams(values: Readonly<Record<string, number>>): void {
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `hparams must be an object of named numbers, e.g. { 'lossWeight.aux': 0.5 }; got ${shownValue(values)}.`,
      );
    }
    for (const [name, value] of Object.entries(values)) {
      if (name === '') {
        throw new TensorloopError(
          'TL_OPTION_INVALID',
          `hparams: a hyperparameter needs a non-empty name, such as 'lossWeight.aux'; got "" (= ${shownValue(value)}).`,
        );
      }
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new TensorloopError(
          'TL_OPTION_INVALID',
          `hparams.${name} must be a finite number; got ${shownValue(value)}.`,
        );
      }
      this.store.define(name, value, { description: 'user value' });
    }
    declareWriters(this.store, this.plugins);
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
  get paramGroups(): readonly ParamGroupInfo[] {
    return paramGroupsOf(this.optimizer, this.store, this.weights);
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
    return parametersOf(this.optimizer, this.weights);
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
    this.pendingResume = await this.checkpoints.restoreFrom(dir);
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
      metricDirections: metricDirectionsOf(this.metrics),
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
    const verbose = checkVerbose(options.verbose);
    const callbacks =
      options.callbacks === undefined ? [] : [callbacksPlugin(checkCallbacks(options.callbacks))];
    const bar = await progressForVerbose(verbose, this.plugins);
    this.enter('fit');
    let prepared: PreparedFitData | undefined;
    let removeFitPlugins: (() => void) | undefined;
    try {
      removeFitPlugins = this.addFitPlugins([...callbacks, ...(bar ? [bar] : [])]);
      this.epochLineOn = epochLineWanted(this.logOption, verbose, this.plugins);
      prepared = await withinDataTimeout(
        prepareFitData(data, options, opts.checkData, this.model, this.lossSpec),
        opts.dataTimeoutMs,
        () => 'the first batch (checked before training)',
        (late) => late.dispose(),
      );
      const { source, validation } = prepared;
      let resume = this.pendingResume;
      this.pendingResume = undefined;
      if (options.resumeFrom !== undefined) resume = await this.checkpoints.restoreFrom(options.resumeFrom);
      if (resume) checkResumedEpochs(resume, opts.epochs);
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
      removeFitPlugins?.();
      prepared?.dispose();
      this.busy = undefined;
    }
  }

  /** Plugins for one fit (`callbacks`, `verbose: 1`'s progress bar); returns their removal. */
  private addFitPlugins(plugins: readonly Plugin[]): (() => void) | undefined {
    if (plugins.length === 0) return undefined;
    const remove = this.pluginList.add(plugins);
    this.hooks.setPlugins(this.plugins);
    return () => {
      remove();
      this.hooks.setPlugins(this.plugins);
    };
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
  save(dir: string): Promise<void> {
    return this.checkpoints.save(dir);
  }

  /**
   * An in-memory copy of everything `save()` writes (weights cloned on the device), to return to
   * later with `restore()` — e.g. an LR range test that must leave the model as it found it.
   * Dispose it when done.
   */
  snapshot(): Promise<TrainerSnapshot> {
    return this.checkpoints.snapshot();
  }

  /** Return to a `snapshot()`: weights, optimizer state, time, RNG, hyperparameters, plugin state. */
  restore(snapshot: TrainerSnapshot): Promise<void> {
    return this.checkpoints.restore(snapshot);
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
    const trainer = new Trainer({ ...options, ...(await loadParts(dir, options)) });
    trainer.pendingResume = await trainer.checkpoints.restoreFrom(dir);
    return trainer;
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
      weightWriters: weightWriters(this.plugins),
      contextFor: (name) => this.contextFor(name),
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
