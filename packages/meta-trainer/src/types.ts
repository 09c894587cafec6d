import type {
  AnyOptimizer,
  DataInput,
  EpochRecord,
  FitOptions,
  Plugin,
  StopReason,
  TensorData,
  Time,
} from '@tensorloop/core';

/**
 * The optimizer a stage trains with: `'reuse'` (default) keeps the one in use and its state;
 * `'new'` starts a fresh one of the same kind and hyperparameters (Avalanche's
 * `reset_optimizer_state`); an optimizer object trains the stage with that one.
 */
export type StageOptimizer = 'reuse' | 'new' | AnyOptimizer;

/** One stage of `meta.run()`. */
export interface StageSpec extends Omit<FitOptions, 'resumeFrom' | 'epochs'> {
  /** Shown in events, tables and messages. Default `stage <index>`. */
  readonly name?: string;
  readonly data: DataInput;
  /** Epochs of this stage, ≥ 1 (a stage that would train nothing is an error). */
  readonly epochs: number;
  /** Default `'reuse'`. */
  readonly optimizer?: StageOptimizer;
  /** Plugins active during this stage only (with the constructor's `stagePlugins[index]`). */
  readonly plugins?: readonly Plugin[];
}

/** `meta.fit()` options: a fit's options, plus the optimizer and (first fit of a stage) its name. */
export interface MetaFitOptions extends Omit<FitOptions, 'resumeFrom'> {
  /** Applied before this fit. Default `'reuse'`. */
  readonly optimizer?: StageOptimizer;
  /** The stage's name, taken from its first fit. Default `stage <index>`. */
  readonly name?: string;
}

/**
 * One experience of an evaluation stream: tensors (`{ x, y }`, the sample count is read from them),
 * or any data with its sample count (the weight of the experience in the stream accuracy).
 */
export type Experience = TensorData | { readonly data: DataInput; readonly samples: number };

export interface EvaluateSpec {
  /**
   * Named streams of experiences, e.g. `{ test: [exp0, exp1, ...] }`. Experience `j` is the held-out
   * data of stage `j` (Avalanche's convention), which forgetting and forward transfer rely on.
   * Metric names say `<name>_stream`.
   */
  readonly streams: Readonly<Record<string, readonly Experience[]>>;
  /** When to evaluate: after each stage (default), or also once before any training (needed for forward transfer). */
  readonly at?: 'each-stage' | 'init-and-each-stage';
  /** The `trainer.evaluate()` log key read as accuracy. Default `'accuracy'` (give the Trainer `metrics: ['accuracy']`). */
  readonly metric?: string;
  /** Batch size of the evaluation. Default 128. */
  readonly batchSize?: number;
}

export interface MetaTrainerOptions {
  /** Plugins active only during a stage, by stage index: `{ 1: [freezeExcept(/classifier/)] }`. */
  readonly stagePlugins?: Readonly<Record<number, readonly Plugin[]>>;
  /** Continual-learning evaluation at the end of every stage (`run()` may override it). */
  readonly evaluate?: EvaluateSpec;
}

export interface RunOptions {
  /** Overrides the constructor's `evaluate`. */
  readonly evaluate?: EvaluateSpec;
  /**
   * A trainer checkpoint written during this run (by `checkpoint()` or `ctx.save`): the run goes on
   * from there (same stages, same evaluation) exactly as if it had not stopped.
   */
  readonly resumeFrom?: string;
}

export interface StageResult {
  readonly stage: number;
  readonly name: string;
  /** Epochs of this stage (all its fits). */
  readonly history: readonly EpochRecord[];
  /** The stop that ended the stage's last fit early, if one did. */
  readonly stopReason: StopReason | undefined;
  /** Time when the stage ended. */
  readonly time: Time;
}

/** Why a run ended before its last stage: a plugin called `stopRun(reason)` in that stage. */
export interface RunStopReason {
  readonly by: string;
  readonly message: string;
  readonly stage: number;
}

export interface MetaRunResult {
  /** The stages this call ran (a resumed run: from the stage it resumed in). */
  readonly stages: readonly StageResult[];
  readonly stopReason: RunStopReason | undefined;
  readonly results: MetaResults;
  readonly time: Time;
}

// ---------------------------------------------------------------------------------------------
// Evaluation results
// ---------------------------------------------------------------------------------------------

/**
 * The accuracy matrix of one stream: `accuracy[i][j]` is R[i][j], the accuracy on experience `j`
 * after training stage `rows[i].stage` (rows are in stage order, row `i` is stage `i`), and
 * `initial[j]` is b[j], the accuracy before any training. A heatmap draws `accuracy` with
 * `rows` down and `experiences` across (and `initial` as a first row when present).
 */
export interface AccuracyMatrix {
  /** The stream's name as given (`'test'`). */
  readonly stream: string;
  /** Column labels: `Exp000`, `Exp001`, ... */
  readonly experiences: readonly string[];
  /** Samples per experience (their weights in the stream accuracy). */
  readonly samples: readonly number[];
  /** One per evaluated stage: its index, name, and the global step and epoch at the evaluation. */
  readonly rows: readonly {
    readonly stage: number;
    readonly name: string;
    readonly step: number;
    readonly epoch: number;
  }[];
  readonly accuracy: readonly (readonly number[])[];
  readonly loss: readonly (readonly number[])[];
  /** b[j], when evaluated before any training (`at: 'init-and-each-stage'`). */
  readonly initial: readonly number[] | undefined;
  readonly initialLoss: readonly number[] | undefined;
  /** Global step of the initial evaluation. */
  readonly initialStep: number | undefined;
}

/** A published metric value (Avalanche's `MetricValue`: x is the global optimizer step). */
export interface MetricPoint {
  readonly name: string;
  readonly value: number;
  readonly step: number;
  /** The stage trained before this evaluation; -1 before any training. */
  readonly stage: number;
}

/** The figures of a stream after its latest evaluation. */
export interface StreamSummary {
  readonly stream: string;
  /** The stage trained last (-1: only the initial evaluation exists). */
  readonly stage: number;
  /** Mean accuracy over the experiences (GEM's ACC). */
  readonly averageAccuracy: number;
  /** Sample-weighted accuracy over the experiences (`Top1_Acc_Stream`). */
  readonly streamAccuracy: number;
  /** `StreamForgetting`: mean of R[k][k] − R[t][k] over k < t (0 when there is none). */
  readonly forgetting: number;
  /** `StreamBWT` = −forgetting. */
  readonly bwt: number;
  /** `StreamForwardTransfer`, when there is an initial evaluation. */
  readonly fwt: number | undefined;
}

export interface MetaResults {
  readonly matrices: readonly AccuracyMatrix[];
  /** The latest value of every metric, by Avalanche name (its `get_last_metrics()`). */
  readonly metrics: Readonly<Record<string, number>>;
  /** Every published value, in order. */
  readonly series: readonly MetricPoint[];
  readonly summary: readonly StreamSummary[];
}

// ---------------------------------------------------------------------------------------------
// Events (declared on core's HookEvents in index.ts)
// ---------------------------------------------------------------------------------------------

export interface StageStartEvent {
  readonly stage: number;
  readonly name: string;
  /** Stages planned (`run()`); undefined for the imperative API. */
  readonly stages: number | undefined;
  /** Planned epochs of the stage (`run()`), or of its first fit. */
  readonly epochs: number;
  /** The stage's training data (its first fit's). */
  readonly data: DataInput;
  /**
   * True when the stage continues from a checkpoint: plugins' state came back with it (already
   * applied), so do not start afresh.
   */
  readonly resumed: boolean;
}

export interface StageEndEvent {
  readonly stage: number;
  readonly name: string;
  readonly history: readonly EpochRecord[];
  readonly stopReason: StopReason | undefined;
  /** True when a plugin asked to stop the whole run in this stage. */
  readonly stopsRun: boolean;
  readonly time: Time;
}

export interface EvalStartEvent {
  /** The stage just trained, or -1 before any training. */
  readonly stage: number;
  /** Its name, or `'init'`. */
  readonly name: string;
  readonly streams: readonly string[];
}

export interface EvalEndEvent {
  readonly stage: number;
  readonly name: string;
  /** The values published by this evaluation, by Avalanche name. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Every stream's accuracy matrix so far. */
  readonly matrices: readonly AccuracyMatrix[];
}

/** What `ctx.plugin('@tensorloop/meta-trainer')` returns. */
export interface MetaTrainerApi {
  /** Current stage index. */
  readonly stage: number;
  /** Current stage name (undefined before its first fit). */
  readonly stageName: string | undefined;
  /**
   * End the stage and the whole run: `return ctx.plugin('@tensorloop/meta-trainer').stopRun('diverged')`
   * from a hook that may return `stop` (a plain `stop()` ends the current stage only). The stage is
   * still evaluated and ended.
   */
  stopRun(reason: string): import('@tensorloop/core').StopSignal;
  /** The evaluation results so far. */
  results(): MetaResults;
}
