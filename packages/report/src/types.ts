/**
 * What the report records, and the shape of `history.json` (`format: 'tensorloop-report'`,
 * `version: 1`). Epochs are counted over the whole report: a second `fit()` continues the count,
 * and so does a fit on another Trainer the same report is registered in (a meta-trainer's stages).
 * `x` is the position on the plots' time axis: epochs trained, fractional inside an epoch.
 */

export const HISTORY_FORMAT = 'tensorloop-report';
export const HISTORY_VERSION = 1;

export interface HparamValue {
  readonly name: string;
  /** Param group, or null for a group-less (user) value. */
  readonly group: string | null;
  readonly value: number;
}

export interface FitRecord {
  /** Index in the report (0, 1, ...). */
  readonly index: number;
  /** First epoch of the fit (report count). */
  readonly startEpoch: number;
  /** Planned epochs. */
  readonly epochs: number;
  readonly stepsPerEpoch: number | null;
  readonly batchSize: number | null;
  readonly hasValidation: boolean;
  readonly resumed: boolean;
  /** Every hyperparameter in the trainer's store when the fit started. */
  readonly hyperparameters: readonly HparamValue[];
  /** Trainable-capable weights (count of scalars) and the optimizer's class. */
  readonly parameters: number;
  readonly optimizer: string;
  /** Set when the fit ended. */
  endEpoch: number | null;
  completed: boolean | null;
  stopReason: { readonly by: string; readonly message: string; readonly epoch: number } | null;
  error: string | null;
  seconds: number | null;
}

export interface EpochEntry {
  /** Report epoch (global, continues across fits and trainers). */
  readonly epoch: number;
  /** The trainer's own `time.epoch`. */
  readonly trainerEpoch: number;
  readonly fit: number;
  readonly stage: number;
  /** Optimizer steps completed at the end of the epoch (report count). */
  readonly step: number;
  /** Micro-batches the epoch ran. */
  readonly batches: number;
  readonly skippedBatches: number;
  readonly seconds: number;
  readonly partial: boolean;
  /** The epoch's logs as they ended up in the trainer's history. */
  logs: Record<string, number>;
}

export interface HparamPoint {
  /** Report epoch and micro-batch inside it at which the value was used. */
  readonly epoch: number;
  readonly batch: number;
  /** Optimizer step (report count) the value was used for. */
  readonly step: number;
  readonly value: number;
}

/** One hyperparameter of one group over time, recorded where it changes (and at the end of each fit). */
export interface HparamSeries {
  readonly name: string;
  readonly group: string | null;
  readonly points: HparamPoint[];
}

export type EventKind =
  | 'fit'
  | 'stop'
  | 'error'
  | 'phase'
  | 'stage'
  | 'stage-end'
  | 'plateau'
  | 'skipped'
  | 'message'
  | 'note';

export interface ReportEvent {
  readonly kind: EventKind;
  /** Report epoch and micro-batch inside it. */
  readonly epoch: number;
  readonly batch: number;
  readonly step: number;
  /** Short text drawn on the plots (markers) or shown in the table's first column. */
  readonly label: string;
  readonly message: string;
  /** The plugin (or event) it came from. */
  readonly source: string;
  readonly level?: 'info' | 'warn';
  /** Event-specific numbers: a plateau reduction's `from`/`to`, a phase index, a skip count. */
  readonly data?: Readonly<Record<string, number | string | null>>;
}

export interface AccuracyMatrixRecord {
  /** Task (or stage) names, the matrix's columns. */
  readonly tasks: readonly string[];
  /** `rows[i].values[j]`: the metric on task j after training stage i (null: not evaluated). */
  readonly rows: readonly { readonly stage: string; readonly values: readonly (number | null)[] }[];
  readonly metric: string;
}

export interface LrFinderRecord {
  readonly curve: readonly { readonly lr: number; readonly loss: number; readonly raw: number | null }[];
  readonly suggestions: readonly {
    readonly name: string;
    readonly lr: number;
    readonly loss: number | null;
  }[];
  /** The lr the run went on with, when the caller says. */
  readonly chosen: number | null;
  readonly stoppedBy: string | null;
}

/** `history.json`. */
export interface ReportHistory {
  readonly format: typeof HISTORY_FORMAT;
  readonly version: typeof HISTORY_VERSION;
  readonly title: string;
  readonly created: string;
  readonly updated: string;
  readonly fits: readonly FitRecord[];
  /** Epoch logs, with `x = epoch + 1` (the end of the epoch) on the plots. */
  readonly epochs: readonly (EpochEntry & { readonly x: number })[];
  readonly hparams: readonly {
    readonly name: string;
    readonly group: string | null;
    readonly points: readonly (HparamPoint & { readonly x: number })[];
  }[];
  readonly events: readonly (ReportEvent & { readonly x: number })[];
  readonly accuracyMatrix: AccuracyMatrixRecord | null;
  readonly lrFinder: LrFinderRecord | null;
}
