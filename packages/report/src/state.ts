import { StateReader } from '@tensorloop/core';
import type { RecorderState } from './recorder.js';
import type {
  AccuracyMatrixRecord,
  EpochEntry,
  EventKind,
  FitRecord,
  HparamSeries,
  LrFinderRecord,
  ReportEvent,
} from './types.js';

const EVENT_KINDS: readonly EventKind[] = [
  'fit',
  'stop',
  'error',
  'phase',
  'stage',
  'stage-end',
  'plateau',
  'skipped',
  'message',
  'note',
];

/** The keys `state()` writes: anything else in a saved state is not ours. */
const STATE_KEYS = [
  'version',
  'created',
  'epochOffset',
  'stepOffset',
  'fits',
  'epochs',
  'hparams',
  'events',
  'accuracyMatrix',
  'lrFinder',
];

/** An object whose values are each accepted by `ok` (JSON writes a NaN log value as null). */
function recordOf<T>(
  s: StateReader,
  key: string,
  expected: string,
  ok: (v: unknown) => v is T,
): Record<string, T> {
  const raw = s.raw(key);
  const isObject = typeof raw === 'object' && raw !== null && !Array.isArray(raw);
  if (!isObject || !Object.values(raw).every(ok)) throw s.invalidAt(key, expected);
  return { ...(raw as Record<string, T>) };
}

const isNumberOrNull = (v: unknown): v is number | null => v === null || typeof v === 'number';
const isScalarData = (v: unknown): v is number | string | null =>
  v === null || typeof v === 'number' || typeof v === 'string';

function arrayOf<T>(s: StateReader, key: string, expected: string, ok: (v: unknown) => v is T): T[] {
  const raw = s.raw(key);
  if (!Array.isArray(raw) || !raw.every(ok)) throw s.invalidAt(key, expected);
  return [...raw];
}

function fit(f: StateReader): FitRecord {
  const stopReason = f.object(
    'stopReason',
    (r) => ({ by: r.string('by'), message: r.string('message'), epoch: r.integer('epoch', { min: 0 }) }),
    { nullable: true },
  );
  return {
    index: f.integer('index', { min: 0 }),
    startEpoch: f.integer('startEpoch', { min: 0 }),
    epochs: f.integer('epochs', { min: 0 }),
    stepsPerEpoch: f.integer('stepsPerEpoch', { min: 0, nullable: true }),
    batchSize: f.integer('batchSize', { min: 0, nullable: true }),
    hasValidation: f.boolean('hasValidation'),
    resumed: f.boolean('resumed'),
    hyperparameters: f.objects('hyperparameters', (h) => ({
      name: h.string('name'),
      group: h.string('group', { nullable: true }),
      value: h.number('value'),
    })),
    parameters: f.integer('parameters', { min: 0 }),
    optimizer: f.string('optimizer'),
    endEpoch: f.integer('endEpoch', { min: 0, nullable: true }),
    completed: f.raw('completed') === null ? null : f.boolean('completed'),
    stopReason,
    error: f.string('error', { nullable: true }),
    seconds: f.number('seconds', { min: 0, nullable: true }),
  };
}

function epoch(e: StateReader): EpochEntry {
  return {
    epoch: e.integer('epoch', { min: 0 }),
    trainerEpoch: e.integer('trainerEpoch', { min: 0 }),
    fit: e.integer('fit', { min: 0 }),
    stage: e.integer('stage', { min: 0 }),
    step: e.integer('step', { min: 0 }),
    batches: e.integer('batches', { min: 0 }),
    skippedBatches: e.integer('skippedBatches', { min: 0 }),
    seconds: e.number('seconds', { min: 0 }),
    partial: e.boolean('partial'),
    logs: recordOf(e, 'logs', 'an object of numbers (null for a non-finite value)', isNumberOrNull) as Record<
      string,
      number
    >,
  };
}

function series(h: StateReader): HparamSeries {
  return {
    name: h.string('name'),
    group: h.string('group', { nullable: true }),
    points: h.objects('points', (p) => ({
      epoch: p.integer('epoch', { min: 0 }),
      batch: p.integer('batch', { min: 0 }),
      step: p.integer('step', { min: 0 }),
      value: p.number('value'),
    })),
  };
}

function event(e: StateReader): ReportEvent {
  const level = e.has('level') ? e.oneOf('level', ['info', 'warn'] as const) : undefined;
  const data = e.has('data')
    ? recordOf(e, 'data', 'an object of numbers, strings or nulls', isScalarData)
    : undefined;
  return {
    kind: e.oneOf('kind', EVENT_KINDS),
    epoch: e.integer('epoch', { min: 0 }),
    batch: e.integer('batch', { min: 0 }),
    step: e.integer('step', { min: 0 }),
    label: e.string('label'),
    message: e.string('message'),
    source: e.string('source'),
    ...(level ? { level } : {}),
    ...(data ? { data } : {}),
  };
}

function accuracyMatrix(m: StateReader): AccuracyMatrixRecord {
  const tasks = arrayOf(m, 'tasks', 'an array of strings', (v): v is string => typeof v === 'string');
  return {
    tasks,
    rows: m.objects('rows', (r) => ({
      stage: r.string('stage'),
      values: arrayOf(r, 'values', 'an array of numbers or nulls', isNumberOrNull),
    })),
    metric: m.string('metric'),
  };
}

function lrFinder(f: StateReader): LrFinderRecord {
  return {
    curve: f.objects('curve', (p) => ({
      lr: p.number('lr'),
      loss: p.number('loss'),
      raw: p.number('raw', { nullable: true }),
    })),
    suggestions: f.objects('suggestions', (p) => ({
      name: p.string('name'),
      lr: p.number('lr'),
      loss: p.number('loss', { nullable: true }),
    })),
    chosen: f.number('chosen', { nullable: true }),
    stoppedBy: f.string('stoppedBy', { nullable: true }),
  };
}

/**
 * The report's saved state, checked field by field (a checkpoint is a file): anything that is not
 * what `state()` writes is `TL_CHECKPOINT_INVALID` naming the field, before any of it is applied.
 */
export function parseReportState(saved: unknown, plugin: string): RecorderState {
  const s = StateReader.of(saved, plugin);
  const version = s.integer('version');
  if (version !== 1) throw s.invalidAt('version', '1 (this report writes version 1)');
  const extra = s.keys().filter((k) => !STATE_KEYS.includes(k));
  if (extra.length > 0) throw s.invalidAt(extra[0]!, 'absent (not a field the report writes)');
  return {
    version: 1,
    created: s.string('created', { nullable: true }),
    epochOffset: s.integer('epochOffset', { min: 0 }),
    stepOffset: s.integer('stepOffset', { min: 0 }),
    fits: s.objects('fits', fit),
    epochs: s.objects('epochs', epoch),
    hparams: s.objects('hparams', series),
    events: s.objects('events', event),
    accuracyMatrix: s.object('accuracyMatrix', accuracyMatrix, { nullable: true }),
    lrFinder: s.object('lrFinder', lrFinder, { nullable: true }),
  };
}
