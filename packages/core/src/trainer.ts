import * as tf from '@tensorflow/tfjs';
import { GradientAccumulator } from './accumulation.js';
import { DeviceAverage, SmoothedLoss } from './accumulator.js';
import {
  type DataInput,
  type DataSource,
  type PendingBatch,
  sampleForValidation,
  toDataSource,
} from './data.js';
import { describePlan } from './describe.js';
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
  CustomEventName,
  EpochRecord,
  FitPlanInfo,
  HookEvents,
  HyperparamAccess,
  Logs,
  Plugin,
  PluginApiMap,
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

const CORE_EVENTS: ReadonlySet<string> = new Set<CoreEventName>([
  'onFitStart',
  'onEpochStart',
  'onBatchStart',
  'onBatchEnd',
  'onValidationStart',
  'onValidationEnd',
  'onEpochEnd',
  'onFitEnd',
  'onEvaluateStart',
  'onEvaluateEnd',
  'onException',
]);

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

  constructor(options: TrainerOptions) {
    const { model } = options;
    if (!(model instanceof tf.LayersModel)) {
      throw new TensorloopError(
        'TL_MODEL_INVALID',
        'options.model must be a tf.LayersModel (tf.sequential(...) or tf.model(...)).',
      );
    }
    if (model instanceof tf.Sequential && !model.built) model.build();
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
    const cached = this.contexts.get(self);
    if (cached) return cached;
    const trainer = this;
    const ctx: TrainerContext = {
      get time() {
        return trainer.clock;
      },
      get model() {
        return trainer.model;
      },
      get optimizer() {
        return trainer.optimizer;
      },
      logger: this.logHub.for(self),
      get plan() {
        return trainer.currentPlan;
      },
      get history() {
        return trainer.allHistory;
      },
      get stopReason() {
        return trainer.lastStop;
      },
      self,
      hparams: hparamView(this.store, self),
      freeze: (pattern) => trainer.freeze(pattern),
      unfreeze: (pattern) => trainer.unfreeze(pattern),
      parameters: () => trainer.parameters(),
      plugin<N extends keyof PluginApiMap>(name: N): PluginApiMap[N] {
        const found = trainer.plugins.find((p) => p.name === name);
        if (!found) {
          throw new TensorloopError(
            'TL_PLUGIN_NOT_FOUND',
            `"${self}" asked for plugin "${String(name)}", which is not registered (registered: ${
              trainer.plugins.map((p) => p.name).join(', ') || 'none'
            }). Add it to plugins: [...], or declare it in dependencies so this is caught at construction.`,
            { plugin: self },
          );
        }
        return found.api as PluginApiMap[N];
      },
      hasPlugin(name: string): boolean {
        return trainer.plugins.some((p) => p.name === name);
      },
      async emit<E extends CustomEventName>(name: E, event: HookEvents[E]): Promise<void> {
        if (CORE_EVENTS.has(name) || !String(name).includes(':')) {
          throw new TensorloopError(
            'TL_EVENT_INVALID',
            `"${self}" tried to emit "${String(name)}". Plugins may emit only namespaced events ("<namespace>:<event>") declared in HookEvents; core events are fired by the trainer.`,
            { plugin: self },
          );
        }
        await trainer.hooks.emit(name, event);
      },
    };
    this.contexts.set(self, ctx);
    return ctx;
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
    const source = toDataSource(data, 'Training data');
    const validation =
      options.validationData === undefined
        ? undefined
        : toDataSource(options.validationData, 'validationData');
    try {
      await this.preflight(source, 'training data', options.checkData ?? true);
      if (validation) await this.preflight(validation, 'validationData', options.checkData ?? true);
      const batchesPerEpoch = stepsPerEpoch ?? source.batchesPerEpoch(batchSize);
      this.currentPlan = {
        epochs,
        batchSize: source.kind === 'tensors' ? batchSize : undefined,
        stepsPerEpoch: batchesPerEpoch,
        batchesPerEpoch,
      };
      return await this.runFit(source, validation, {
        epochs,
        batchSize,
        shuffle: options.shuffle ?? true,
        stepsPerEpoch,
        validationBatchSize,
      });
    } finally {
      source.dispose();
      validation?.dispose();
      this.busy = undefined;
    }
  }

  /** Loss and metrics over data, in inference mode: `{ loss, accuracy, ... }`. */
  async evaluate(data: DataInput, options: EvaluateOptions = {}): Promise<Logs> {
    const batchSize = requireInteger('batchSize', options.batchSize ?? 32, 1);
    this.enter('evaluate');
    const source = toDataSource(data, 'Evaluation data');
    try {
      await this.preflight(source, 'evaluation data', true);
      await this.dispatch('onEvaluateStart', {
        batchSize: source.kind === 'tensors' ? batchSize : undefined,
      });
      const logs = await evaluateSource(this.stepDeps, source, batchSize);
      await this.dispatch('onEvaluateEnd', { logs });
      return logs;
    } finally {
      source.dispose();
      this.busy = undefined;
    }
  }

  /** The model's predictions, in inference mode. The caller owns the result. */
  predict(x: tf.Tensor | tf.Tensor[], options: { batchSize?: number } = {}): tf.Tensor {
    const out = this.model.predict(x, { batchSize: options.batchSize ?? 32 });
    return Array.isArray(out) ? out[0]! : out;
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
    return this.hooks.emit(hook, event);
  }

  private applySignals(raised: readonly RaisedSignal[], state: SignalState): void {
    for (const r of raised) {
      if (r.signal.signal === 'stop') {
        state.stopFit = true;
        this.lastStop ??= {
          by: r.plugin,
          message: r.signal.reason,
          hook: r.hook,
          time: snapshotTime(this.clock),
        };
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
  ): Promise<FitResult> {
    const clock = this.clock;
    clock.fitIndex += 1;
    clock.fitEpoch = 0;
    clock.fitStep = 0;
    clock.epochBatch = 0;
    clock.fraction = 0;
    this.fitBatch = 0;
    this.lastStop = undefined;
    const fitHistory: EpochRecord[] = [];
    const plan = this.currentPlan!;
    let fitEndSent = false;
    let epochsRun = 0;
    try {
      const state: SignalState = { stopFit: false, stopEpoch: false, skipBatch: false };
      this.applySignals(
        await this.dispatch('onFitStart', {
          epochs: opts.epochs,
          stepsPerEpoch: plan.stepsPerEpoch,
          batchSize: plan.batchSize,
          fitIndex: clock.fitIndex,
          hasValidation: validation !== undefined,
        }),
        state,
      );
      for (let fitEpoch = 0; fitEpoch < opts.epochs && !state.stopFit; fitEpoch++) {
        clock.fitEpoch = fitEpoch;
        clock.epochBatch = 0;
        state.stopEpoch = false;
        this.applySignals(await this.dispatch('onEpochStart', { epoch: clock.epoch, fitEpoch }), state);
        if (state.stopFit) break;
        const partial = await this.runEpoch(source, opts, state);
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
        this.applySignals(
          await this.dispatch('onEpochEnd', {
            epoch: clock.epoch,
            fitEpoch,
            logs,
            partial: stoppedMidEpoch || state.stopEpoch,
          }),
          state,
        );
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
  ): Promise<{ logs: Logs; batches: number; cutShort: boolean }> {
    const average = new DeviceAverage(['loss', ...this.metrics.map((m) => m.name)]);
    const smooth = new SmoothedLoss(this.smoothing);
    const accumulator =
      this.accumulateBatches > 1 ? new GradientAccumulator(this.accumulateBatches) : undefined;
    let batches = 0;
    let cutShort = false;
    try {
      const iterator = source.epoch({
        batchSize: opts.batchSize,
        shuffle: opts.shuffle,
        rng: this.rng,
        batchesPerEpoch: opts.stepsPerEpoch,
      });
      for await (const pending of iterator) {
        try {
          await this.runBatch(pending, average, smooth, state, accumulator);
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
      const smoothed = smooth.value();
      try {
        const logs = await average.read('', { smooth_loss: smoothed });
        return { logs, batches, cutShort };
      } finally {
        smoothed?.dispose();
      }
    } finally {
      average.dispose();
      smooth.dispose();
      accumulator?.dispose();
    }
  }

  private async runBatch(
    pending: PendingBatch,
    average: DeviceAverage,
    smooth: SmoothedLoss,
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
    try {
      if (!state.skipBatch && !state.stopFit) {
        output = trainStep(this.stepDeps, pending, accumulator);
        average.add(output.values, pending.size);
        smooth.add(output.loss);
        clock.sample += pending.size;
        if (output.stepped) {
          clock.step += 1;
          clock.fitStep += 1;
        }
      }
      clock.batch += 1;
      this.fitBatch += 1;
      this.updateFraction();
      if (this.hooks.has('onBatchEnd')) {
        let logs: Logs | undefined;
        if (
          output &&
          (this.needsBatchLogs || (this.logEvery !== undefined && clock.batch % this.logEvery === 0))
        ) {
          const values = await output.values.data();
          logs = { loss: values[0]! };
          this.metrics.forEach((m, i) => {
            logs![m.name] = values[i + 1]!;
          });
        }
        this.applySignals(
          await this.dispatch('onBatchEnd', {
            batch: batchIndex,
            size: pending.size,
            skipped: output === undefined,
            stepped: output?.stepped ?? false,
            logs,
            loss: output?.loss,
          }),
          state,
        );
      }
    } finally {
      if (output) {
        output.values.dispose();
        output.loss.dispose();
      }
      clock.epochBatch = batchIndex + 1;
    }
  }
}

function hparamView(store: HyperparamStore, by: string): HyperparamAccess {
  return {
    get: (name, scope) => store.get(name, scope ?? {}),
    set: (name, value, options) => store.set(name, value, { ...(options ?? {}), by }),
    explain: (name, scope) => store.explain(name, scope ?? {}),
    has: (name, scope) => store.has(name, scope ?? {}),
    names: () => store.names(),
    groups: (name) => store.groups(name),
  };
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
