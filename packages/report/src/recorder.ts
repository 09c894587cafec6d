import type { Time } from '@tensorloop/core';
import {
  type AccuracyMatrixRecord,
  type EpochEntry,
  type EventKind,
  type FitRecord,
  HISTORY_FORMAT,
  HISTORY_VERSION,
  type HparamPoint,
  type HparamSeries,
  type LrFinderRecord,
  type ReportEvent,
  type ReportHistory,
} from './types.js';

/** Everything the report holds; also its checkpoint state (JSON). */
export interface RecorderState {
  readonly version: 1;
  /** When recording began (the first fit's start); null before any fit. */
  readonly created: string | null;
  readonly epochOffset: number;
  readonly stepOffset: number;
  readonly fits: FitRecord[];
  readonly epochs: EpochEntry[];
  readonly hparams: HparamSeries[];
  readonly events: ReportEvent[];
  readonly accuracyMatrix: AccuracyMatrixRecord | null;
  readonly lrFinder: LrFinderRecord | null;
}

export const seriesKey = (name: string, group: string | null) => (group === null ? name : `${name}@${group}`);

/**
 * The report's records and the one place that maps a trainer's time to the report's: epochs and
 * steps continue across fits, and across trainers (a fit whose trainer starts its count again is
 * placed after what was recorded).
 */
export class Recorder {
  created: string | null = null;
  epochOffset = 0;
  stepOffset = 0;
  fits: FitRecord[] = [];
  epochs: EpochEntry[] = [];
  hparams: HparamSeries[] = [];
  events: ReportEvent[] = [];
  accuracyMatrix: AccuracyMatrixRecord | null = null;
  lrFinder: LrFinderRecord | null = null;
  private seriesByKey = new Map<string, HparamSeries>();
  /** Per series: the last step that repeated its value (not stored unless the value changes). */
  private held = new WeakMap<HparamSeries, { epoch: number; batch: number; step: number }>();
  /** Batches seen in the current epoch (its length before it ends, for iterables of unknown length). */
  private batchesSeen = 0;
  /** Between the report's onEpochStart and onEpochEnd. */
  private inEpoch = false;

  /** Report epochs recorded so far (the next epoch's index). */
  get nextEpoch(): number {
    const last = this.epochs.at(-1);
    return last ? last.epoch + 1 : 0;
  }

  /** Report steps recorded so far. */
  get lastStep(): number {
    return this.epochs.at(-1)?.step ?? 0;
  }

  /** At a fit start: a trainer whose counters are behind what was recorded is placed after it. */
  align(time: Time): void {
    if (time.epoch + this.epochOffset < this.nextEpoch) this.epochOffset = this.nextEpoch - time.epoch;
    if (time.step + this.stepOffset < this.lastStep) this.stepOffset = this.lastStep - time.step;
  }

  epochOf(time: Time): number {
    return time.epoch + this.epochOffset;
  }

  stepOf(time: Time): number {
    return time.step + this.stepOffset;
  }

  currentFit(): FitRecord | undefined {
    return this.fits.at(-1);
  }

  event(kind: EventKind, time: Time, fields: Omit<ReportEvent, 'kind' | 'epoch' | 'batch' | 'step'>): void {
    // Between epochs the trainer's epochBatch still counts the last epoch's batches, and in the
    // last onEpochEnd handlers its epoch is not advanced yet: either way the place is a boundary.
    const between = !this.inEpoch;
    this.events.push({
      kind,
      epoch: between ? Math.max(this.epochOf(time), this.nextEpoch) : this.epochOf(time),
      batch: between ? 0 : time.epochBatch,
      step: this.stepOf(time),
      ...fields,
    });
  }

  batchSeen(epochBatch: number): void {
    if (epochBatch + 1 > this.batchesSeen) this.batchesSeen = epochBatch + 1;
  }

  startEpoch(): void {
    this.batchesSeen = 0;
    this.inEpoch = true;
  }

  endEpoch(entry: Omit<EpochEntry, 'batches'> & { batches?: number }): void {
    this.epochs.push({ ...entry, batches: entry.batches ?? this.batchesSeen });
    this.batchesSeen = 0;
    this.inEpoch = false;
  }

  /**
   * Record the value used for one optimizer step (trainer step index `step`, micro-batch `batch` of
   * trainer epoch `epoch`) when it differs from the series' last value; `force` records it anyway
   * (the first value of a fit, the value held at its end).
   */
  hparam(
    name: string,
    group: string | null,
    epoch: number,
    batch: number,
    step: number,
    value: number,
    force = false,
  ): void {
    const key = seriesKey(name, group);
    let series = this.seriesByKey.get(key);
    if (!series) {
      series = { name, group, points: [] };
      this.seriesByKey.set(key, series);
      this.hparams.push(series);
    }
    let held = this.held.get(series);
    const last = series.points.at(-1);
    if (!force && last && last.value === value) {
      // Unchanged: remember where, so a later change is drawn from the last step that had this value.
      if (!held) {
        held = { epoch: 0, batch: 0, step: -1 };
        this.held.set(series, held);
      }
      held.epoch = epoch + this.epochOffset;
      held.batch = batch;
      held.step = step + this.stepOffset;
      return;
    }
    const point = { epoch: epoch + this.epochOffset, batch, step: step + this.stepOffset, value };
    if (last && held && held.step > last.step && held.step < point.step)
      series.points.push({ epoch: held.epoch, batch: held.batch, step: held.step, value: last.value });
    if (held) held.step = -1;
    const prev = series.points.at(-1);
    if (prev && prev.step === point.step && prev.epoch === point.epoch && prev.batch === point.batch)
      series.points.pop();
    series.points.push(point);
  }

  /** Batches in report epoch `e`: recorded, else what the current epoch has seen, else the plan. */
  private batchesIn(epoch: number, planned: number | undefined): number {
    const entry = this.epochs.find((x) => x.epoch === epoch);
    if (entry && entry.batches > 0) return entry.batches;
    return Math.max(1, planned ?? 0, this.batchesSeen);
  }

  /** Position on the time axis: epochs trained, fractional inside an epoch. */
  xOf(epoch: number, batch: number, planned?: number): number {
    if (batch <= 0) return epoch;
    return epoch + Math.min(1, batch / this.batchesIn(epoch, planned));
  }

  state(): RecorderState {
    return structuredClone({
      version: 1 as const,
      created: this.created,
      epochOffset: this.epochOffset,
      stepOffset: this.stepOffset,
      fits: this.fits,
      epochs: this.epochs,
      hparams: this.hparams,
      events: this.events,
      accuracyMatrix: this.accuracyMatrix,
      lrFinder: this.lrFinder,
    });
  }

  load(state: RecorderState): void {
    const s = structuredClone(state);
    this.created = s.created;
    this.epochOffset = s.epochOffset;
    this.stepOffset = s.stepOffset;
    this.fits = s.fits;
    this.epochs = s.epochs;
    this.hparams = s.hparams;
    this.events = s.events;
    this.accuracyMatrix = s.accuracyMatrix;
    this.lrFinder = s.lrFinder;
    this.seriesByKey = new Map(this.hparams.map((h) => [seriesKey(h.name, h.group), h]));
    this.held = new WeakMap();
    this.inEpoch = false;
    this.batchesSeen = 0;
  }

  /** Recording begins: the first fit's start sets `created` (a resumed report keeps its own). */
  begin(): void {
    this.created ??= new Date().toISOString();
  }

  /** `history.json`, with the plot positions (`x`) filled in. */
  history(title: string, planned?: number): ReportHistory {
    const x = (e: { epoch: number; batch: number }) => this.xOf(e.epoch, e.batch, planned);
    return structuredClone({
      format: HISTORY_FORMAT,
      version: HISTORY_VERSION,
      title,
      created: this.created ?? new Date().toISOString(),
      updated: new Date().toISOString(),
      fits: this.fits,
      epochs: this.epochs.map((e) => ({ ...e, x: e.epoch + 1 })),
      hparams: this.hparams.map((h) => ({
        name: h.name,
        group: h.group,
        points: h.points.map((p: HparamPoint) => ({ ...p, x: x(p) })),
      })),
      events: this.events.map((e) => ({ ...e, x: x(e) })),
      accuracyMatrix: this.accuracyMatrix,
      lrFinder: this.lrFinder,
    });
  }
}
