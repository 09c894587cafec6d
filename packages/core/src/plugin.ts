import type * as tf from '@tensorflow/tfjs';
import type { TensorloopError } from './errors.js';
import type { ParameterInfo } from './freezing.js';
import type { HparamExplanation } from './hyperparams.js';
import type { ParamMatcher } from './optim/types.js';
import type { HookSignalMap } from './signals.js';
import type { Time } from './time.js';

// ---------------------------------------------------------------------------------------------
// Augmentable registries. Plugin packages extend them with `declare module '@tensorloop/core'`.
// ---------------------------------------------------------------------------------------------

/**
 * Epoch (and batch) logs: plain numbers (`loss`, `accuracy`, `val_loss`, ...). Plugins declare keys
 * they write by augmentation, as optional properties (`lr?: number`).
 */
export interface Logs {
  [key: string]: number | undefined;
}

/**
 * Plugin name → the JSON shape its `state()` returns. Augmented by plugin packages (core's own
 * `checkpoint()` plugin included: it uses the same `declare module` as everyone).
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging
export interface PluginStateMap {}

/** Plugin name → the API object other plugins get from `ctx.plugin(name)`. Augmented by plugin packages. */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging
export interface PluginApiMap {}

/** A JSON value, for plugin state that has not been registered in `PluginStateMap`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

// ---------------------------------------------------------------------------------------------
// Events: one typed object per hook, so fields can be added without breaking anyone.
// ---------------------------------------------------------------------------------------------

export interface StopReason {
  /** The plugin that asked to stop, or `'trainer'`. */
  readonly by: string;
  readonly message: string;
  readonly hook: string;
  readonly time: Time;
}

export interface EpochRecord {
  /** Global epoch index. */
  readonly epoch: number;
  readonly fitIndex: number;
  readonly logs: Logs;
}

export interface FitStartEvent {
  readonly epochs: number;
  /** Optimizer steps per epoch when known in advance (tensor data, or `stepsPerEpoch`). */
  readonly stepsPerEpoch: number | undefined;
  readonly batchSize: number | undefined;
  readonly fitIndex: number;
  readonly hasValidation: boolean;
  /**
   * True when this fit continues one restored from a checkpoint (`resumeFrom`): plugins keep their
   * restored state instead of starting afresh.
   */
  readonly resumed: boolean;
  /**
   * Every key this fit's epoch logs will hold: loss, metrics, `smooth_loss`, `lr` keys, `val_` keys
   * when there is validation data, and the plugins' declared `logKeys`. Check a monitor against it
   * with `checkMonitorKey(monitor, event.logKeys, name)`.
   */
  readonly logKeys: readonly string[];
}
export interface EpochStartEvent {
  readonly epoch: number;
  readonly fitEpoch: number;
}
export interface BatchStartEvent {
  /** Micro-batch index inside the epoch. */
  readonly batch: number;
  readonly size: number;
}
export interface BatchEndEvent {
  readonly batch: number;
  readonly size: number;
  /** True when a plugin skipped this batch (no forward pass, no optimizer step). */
  readonly skipped: boolean;
  /**
   * True when the optimizer stepped after this micro-batch. False inside an accumulation window and
   * when a step gate (`transformStepGate`, e.g. AMP on an overflow) skipped the step; with
   * `stepGate: 'device'` (WebGL, WebGPU) a gated step reads true until the next read-back corrects
   * `time.step` (see "Skipping a step" in the core README).
   */
  readonly stepped: boolean;
  /**
   * Host values of this batch's loss and metrics. Present only when they were read back: a
   * registered plugin declared `needsBatchLogs`, or `logEvery` asked for this batch.
   */
  readonly logs: Logs | undefined;
  /** The batch loss on the device; valid only during this event (disposed after it). */
  readonly loss: tf.Scalar | undefined;
}
export interface ValidationStartEvent {
  readonly epoch: number;
}
export interface ValidationEndEvent {
  readonly epoch: number;
  /** Validation logs, keys prefixed with `val_`. */
  readonly logs: Logs;
}
export interface EpochEndEvent {
  readonly epoch: number;
  readonly fitEpoch: number;
  /**
   * Training and validation logs of this epoch. Plugins earlier in the order may add keys; later
   * plugins see them. The object ends up in `history`.
   */
  readonly logs: Logs;
  /** True when the epoch ended early (a stop or stopEpoch signal). */
  readonly partial: boolean;
}
export interface FitEndEvent {
  readonly history: readonly EpochRecord[];
  readonly stopReason: StopReason | undefined;
  /** Set when the fit ended with an exception. */
  readonly error: TensorloopError | undefined;
  /** True when the fit ran its planned length. */
  readonly completed: boolean;
}
export interface EvaluateStartEvent {
  readonly batchSize: number | undefined;
}
export interface EvaluateEndEvent {
  readonly logs: Logs;
}
export interface ExceptionEvent {
  readonly error: TensorloopError;
}

/**
 * Hook name → event object. Core lifecycle events below; plugin packages add namespaced events
 * (`'meta:stageStart'`) by augmentation and fire them with `ctx.emit`.
 */
export interface HookEvents {
  onFitStart: FitStartEvent;
  onEpochStart: EpochStartEvent;
  onBatchStart: BatchStartEvent;
  onBatchEnd: BatchEndEvent;
  onValidationStart: ValidationStartEvent;
  onValidationEnd: ValidationEndEvent;
  onEpochEnd: EpochEndEvent;
  onFitEnd: FitEndEvent;
  onEvaluateStart: EvaluateStartEvent;
  onEvaluateEnd: EvaluateEndEvent;
  onException: ExceptionEvent;
}

/** The core lifecycle events, in the order a fit meets them. */
export const CORE_EVENT_NAMES = [
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
] as const;

export type CoreEventName = (typeof CORE_EVENT_NAMES)[number];

/**
 * How the hook runner dispatches a hook: `emit` (async, awaited in order, may return signals),
 * `transform` (sync waterfall inside the step), `notify` (sync, returns nothing), `emitIsolated`
 * (async, the error path: each handler isolated, a failure is logged and the rest still run).
 */
export type HookKind = 'emit' | 'transform' | 'notify' | 'emitIsolated';

/**
 * Every core hook with its dispatch kind, in the order a fit meets it (step hooks inside the
 * batch). `trainer.describe()` lists hooks in this order. On a fit that throws, `onException` and
 * then `onFitEnd` are dispatched `emitIsolated`.
 */
export const HOOK_KINDS = {
  onFitStart: 'emit',
  onEpochStart: 'emit',
  onBatchStart: 'emit',
  transformBatch: 'transform',
  transformLoss: 'transform',
  transformGradients: 'transform',
  transformStepGate: 'transform',
  afterOptimizerStep: 'notify',
  onBatchEnd: 'emit',
  onValidationStart: 'emit',
  onValidationEnd: 'emit',
  onEpochEnd: 'emit',
  onFitEnd: 'emit',
  onEvaluateStart: 'emit',
  onEvaluateEnd: 'emit',
  onException: 'emitIsolated',
} as const satisfies { readonly [K in CoreEventName | StepTransformName]: HookKind };

export type CoreHookName = keyof typeof HOOK_KINDS;

/** Namespaced events declared by plugin packages: `'<namespace>:<event>'`. */
export type CustomEventName = Extract<keyof HookEvents, `${string}:${string}`>;

// ---------------------------------------------------------------------------------------------
// Step pipeline (synchronous, inside one tf.tidy).
// ---------------------------------------------------------------------------------------------

export interface Batch {
  readonly x: tf.Tensor | tf.Tensor[];
  readonly y: tf.Tensor;
}

/** Gradients keyed by weight name (the layer weight's `originalName`), in the fixed variable order. */
export type GradientMap = Map<string, tf.Tensor>;

export interface LossContext {
  readonly batch: Batch;
  readonly yPred: tf.Tensor;
}
export interface OptimizerStepEvent {
  /** The gradients the optimizer applied (after accumulation and clipping). */
  readonly grads: ReadonlyMap<string, tf.Tensor>;
  /** The differentiated loss of the last micro-batch; undefined for the end-of-epoch flush of an accumulation window. */
  readonly loss: tf.Scalar | undefined;
  /**
   * The step's gate (a bool scalar on the device) when a plugin gates steps (`transformStepGate`),
   * else undefined. With `stepGate: 'host'` a skipped step is not notified, so it is true here; with
   * `'device'` it may be false: gate what you update after the step on it (`tf.where(applied, ...)`).
   */
  readonly applied: tf.Scalar | undefined;
}

/** What `transformStepGate` sees: the step's gradients, unclipped (after accumulation and `transformGradients`). */
export interface StepGateInfo {
  readonly grads: ReadonlyMap<string, tf.Tensor>;
  /** The differentiated loss of the last micro-batch; undefined for the end-of-epoch flush of an accumulation window. */
  readonly loss: tf.Scalar | undefined;
}

/**
 * Device scalars a plugin wants on the host without a read-back of its own: core appends them to the
 * next read-back it makes anyway (the epoch logs, batch logs when they are read, a checkpoint) and
 * hands the host values to `received` before the event that follows (`onEpochEnd`, `onBatchEnd`).
 */
export interface PluginReadback {
  /** Called inside a `tf.tidy` right before a read-back: temporaries are disposed, your tensors are not. */
  tensors(): Readonly<Record<string, tf.Scalar>>;
  /** The host values of what `tensors()` returned, by the same keys. */
  received(values: Readonly<Record<string, number>>): void;
}

/** A hyperparameter a plugin writes, declared up front so conflicts fail at construction. */
export interface HyperparamWriteDeclaration {
  /** `'lr'`, `'momentum'`, `'weightDecay'`, a user value such as `'lossWeight.aux'`, ... */
  readonly name: string;
  /** `set` owns the value (one `set` writer per value and group); `multiply` composes as a factor. */
  readonly mode: 'set' | 'multiply';
  /** Param groups it writes; all when omitted. */
  readonly groups?: readonly string[];
}

/**
 * Where in a fit a plugin writes the model's weights: `'fitStart'` (a restore), `'epochStart'`,
 * `'step'` (after optimizer steps), `'validation'` (swapped in for validation and back),
 * `'epochEnd'`, `'fitEnd'` (restore-best, a final EMA swap).
 */
export type WeightWritePoint = 'fitStart' | 'epochStart' | 'step' | 'validation' | 'epochEnd' | 'fitEnd';

export const WEIGHT_WRITE_POINTS: readonly WeightWritePoint[] = [
  'fitStart',
  'epochStart',
  'step',
  'validation',
  'epochEnd',
  'fitEnd',
];

/** The hyperparameter store as hooks see it (writes are attributed to the calling plugin). */
export interface HyperparamAccess {
  /** Effective value: (latest set, else base) × multiply factors. Per-group values default to group 'default'. */
  get(name: string, scope?: { readonly group?: string }): number;
  /** Write a value you declared in `hparams`; without `group`, every group you cover. */
  set(name: string, value: number, options?: { readonly group?: string }): void;
  /** `lr(group head) = 3e-4 = 1e-3 (set by ...) × 0.3 (multiply by ...)` and its parts. */
  explain(name: string, scope?: { readonly group?: string }): HparamExplanation;
  has(name: string, scope?: { readonly group?: string }): boolean;
  names(): string[];
  /** Groups that carry `name` (all groups when omitted). */
  groups(name?: string): string[];
}

// ---------------------------------------------------------------------------------------------
// Context handed to every hook.
// ---------------------------------------------------------------------------------------------

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn';
  /** The plugin that wrote it, or `'trainer'`. */
  readonly source: string;
  readonly message: string;
  readonly time: Time;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  /** Receive every log entry (progress bars, reports). Returns a function that unsubscribes. */
  subscribe(sink: (entry: LogEntry) => void): () => void;
}

export interface FitPlanInfo {
  readonly epochs: number;
  readonly stepsPerEpoch: number | undefined;
  readonly batchSize: number | undefined;
}

export interface TrainerContext {
  /** Live time counters (read-only view). */
  readonly time: Time;
  readonly model: tf.LayersModel;
  readonly optimizer: tf.Optimizer | import('./optimizer-seam.js').TensorloopOptimizerLike;
  /** Messages are prefixed with the calling plugin's name and reach every log sink. */
  readonly logger: Logger;
  /** The current fit's plan, or undefined outside `fit()`. */
  readonly plan: FitPlanInfo | undefined;
  readonly history: readonly EpochRecord[];
  /** The first stop requested in this fit, if any. */
  readonly stopReason: StopReason | undefined;
  /** Name of the plugin this context was handed to (`'trainer'` for the trainer itself). */
  readonly self: string;
  /** The hyperparameter store: optimizer hyperparameters per param group and user values. */
  readonly hparams: HyperparamAccess;
  /**
   * Directions the trainer's metric specs declare (`{ name, fn, direction: 'max' }`), by metric name:
   * what `mode: 'auto'` reads first (`resolveMonitorMode(monitor, mode, plugin, ctx.metricDirections)`).
   */
  readonly metricDirections: ReadonlyMap<string, 'min' | 'max'>;
  /** Freeze weights whose names match (frozen BatchNorm layers then run in inference mode). */
  freeze(pattern: ParamMatcher): string[];
  /** Unfreeze weights whose names match; their optimizer state resumes where it stopped. */
  unfreeze(pattern: ParamMatcher): string[];
  /** Every trainable-capable weight: name, shape, trainable, param group. */
  parameters(): ParameterInfo[];
  /** Write a trainer checkpoint (from `onEpochEnd` / `onBatchEnd`, the resume points of a fit). */
  save(dir: string): Promise<void>;
  /** Another plugin's API. Throws `TL_PLUGIN_NOT_FOUND` when it is not registered. */
  plugin<N extends keyof PluginApiMap>(name: N): PluginApiMap[N];
  /** True when a plugin of that name is registered. */
  hasPlugin(name: string): boolean;
  /** Fire a namespaced custom event to every plugin that handles it, in plugin order. */
  emit<E extends CustomEventName>(name: E, event: HookEvents[E]): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Plugins.
// ---------------------------------------------------------------------------------------------

/** Handlers that return nothing are typed `void`, so `() => {}` fits every hook. */
// biome-ignore lint/suspicious/noConfusingVoidType: void lets `() => {}` fit a hook
type Nothing = undefined | void;
export type HookReturn<K> = K extends keyof HookSignalMap ? HookSignalMap[K] | Nothing : Nothing;

export type HookHandler<K extends keyof HookEvents> = (
  ctx: TrainerContext,
  event: HookEvents[K],
) => HookReturn<K> | Promise<HookReturn<K>>;

/** A bare handler, or one with a per-hook order that refines the plugin's place for this hook only. */
export type ObjectHook<F> = F | { readonly handler: F; readonly order?: 'pre' | 'post' };

export type LifecycleHooks = { readonly [K in keyof HookEvents]?: ObjectHook<HookHandler<K>> };

export interface StepTransforms {
  /** Synchronous, inside the step's tidy: return the batch to train on. */
  readonly transformBatch?: ObjectHook<(ctx: TrainerContext, batch: Batch) => Batch>;
  /** Synchronous, inside the gradient tape: return the loss to differentiate (AMP scales it here). */
  readonly transformLoss?: ObjectHook<(ctx: TrainerContext, loss: tf.Scalar, info: LossContext) => tf.Scalar>;
  /** Synchronous, per micro-batch, before accumulation and clipping: return the gradients to use (AMP unscales here). */
  readonly transformGradients?: ObjectHook<(ctx: TrainerContext, grads: GradientMap) => GradientMap>;
  /**
   * Synchronous, at each optimizer step, before clipping: return the step's gate, a bool scalar on
   * the device (`true`: apply the update; `false`: skip it, leaving weights, optimizer slots and step
   * counts as they were, and `time.step` where it was). Combine with the gate you get
   * (`tf.logicalAnd(gate, mine)`). AMP returns "every gradient is finite". See "Skipping a step".
   */
  readonly transformStepGate?: ObjectHook<
    (ctx: TrainerContext, gate: tf.Scalar, info: StepGateInfo) => tf.Scalar
  >;
  /**
   * Synchronous, still inside the tidy, after the optimizer applied the update. Returns nothing
   * (typed `undefined`, so an `async` handler is a compile error).
   */
  readonly afterOptimizerStep?: ObjectHook<(ctx: TrainerContext, event: OptimizerStepEvent) => undefined>;
}

export type StepTransformName = keyof StepTransforms;

type StateOf<N extends string> = string extends N
  ? unknown
  : N extends keyof PluginStateMap
    ? PluginStateMap[N]
    : JsonValue;
type ApiOf<N extends string> = string extends N
  ? unknown
  : N extends keyof PluginApiMap
    ? PluginApiMap[N]
    : unknown;

export interface PluginMeta<N extends string> {
  /** The npm name: identity, dependency key, checkpoint key and message prefix. */
  readonly name: N;
  readonly version?: string;
  /** Tier: `pre` plugins run before normal ones, `post` after, in every hook. */
  readonly enforce?: 'pre' | 'post';
  /** Run before these plugins (ignored when they are not registered). */
  readonly before?: readonly string[];
  /** Run after these plugins (ignored when they are not registered). */
  readonly after?: readonly string[];
  /** Must be registered; they also run earlier in every hook. */
  readonly dependencies?: readonly string[];
  /** Ask for host values of every batch's loss and metrics in `onBatchEnd` (one read-back per step). */
  readonly needsBatchLogs?: boolean;
  /**
   * Keys this plugin adds to the epoch logs (`['loss_scale']`, `['val_probe']`). Monitors (early
   * stopping, plateau, checkpoint, finetune scheduler) check their key at fit start against the
   * keys the fit will log, `FitStartEvent.logKeys`; an undeclared key fails there as a typo would.
   */
  readonly logKeys?: readonly string[];
  /** Hyperparameters this plugin writes through `ctx.hparams.set`. */
  readonly hparams?: readonly HyperparamWriteDeclaration[];
  /**
   * When this plugin writes the model's weights (restore-best at `'fitEnd'`, an EMA swap around
   * `'validation'`). Two writers at one point are `TL_PLUGIN_CONFLICT` at construction unless one
   * orders itself against the other (`before`, `after` or `dependencies`): the later one wins.
   */
  readonly writesWeights?: WeightWritePoint | readonly WeightWritePoint[];
  /**
   * This plugin prints its own per-epoch summary (a progress bar): core then leaves out its
   * `epoch 3/10 · loss …` line.
   */
  readonly printsEpochSummary?: boolean;
  /**
   * Lines for `trainer.describe()` under this plugin (e.g. a schedule's start, peak and end). The
   * trainer passes this plugin's context (the model, the optimizer), also before the first fit;
   * called by anyone else, `ctx` may be missing.
   */
  describe?(ctx?: TrainerContext): string | readonly string[];
  /** Device values to read with core's next read-back instead of a read-back of your own. */
  readonly readback?: PluginReadback;
  /** What `ctx.plugin(name)` returns to other plugins. */
  readonly api?: ApiOf<N>;
  /**
   * Computes loss, metric values and gradients of each training batch instead of the trainer (e.g.
   * over worker threads: `@tensorloop/data-parallel`). The first registered one is used. See `loop/gradient-source-api.ts`.
   */
  readonly gradientSource?: import('./loop/gradient-source-api.js').GradientSource;
  /** JSON-serializable state for checkpoints (tensors go in `stateTensors`). */
  state?(): StateOf<N>;
  /**
   * Tensors that belong to the state (best weights, an EMA copy): stored in the checkpoint's binary
   * file, checksummed like the weights, instead of inside `trainer.json`. Called right after
   * `state()`; core reads them and never disposes them. `loadState` gets them back by name.
   */
  stateTensors?(): tf.NamedTensorMap;
  /**
   * Check saved state before `loadState` gets it: a checkpoint is a file, so `saved` is untrusted.
   * Return the typed state or throw (`readState(saved, name)` reads it field by field and throws
   * `TL_CHECKPOINT_INVALID` naming the plugin and the field). Without it, `loadState` receives the
   * saved JSON unchecked.
   */
  parseState?(saved: unknown, savedVersion: string | undefined): StateOf<N>;
  /**
   * Apply saved state (after `parseState`). `tensors` are the ones `stateTensors()` returned (empty
   * when it has none); core disposes them after this call, so clone what you keep.
   */
  loadState?(state: StateOf<N>, savedVersion: string | undefined, tensors: Readonly<tf.NamedTensorMap>): void;
}

export type Plugin<N extends string = string> = PluginMeta<N> & LifecycleHooks & StepTransforms;

/** Identity helper that keeps the literal `name`, so state and API types resolve. */
export function definePlugin<const N extends string>(plugin: Plugin<N>): Plugin<N> {
  return plugin;
}
