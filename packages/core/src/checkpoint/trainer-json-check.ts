/**
 * The shape of a `trainer.json`, checked field by field before anything is applied: the file may
 * have been edited or damaged (its checksum only says the manifest agrees with it). Without this, a
 * wrong field surfaced as a TypeError halfway through a restore, with the weights already written.
 */
import { TensorloopError } from '../errors.js';
import { shownValue } from '../shown-value.js';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isNumberOrNull = (v: unknown): boolean => v === null || typeof v === 'number';

const TIME_COUNTERS = [
  'epoch',
  'step',
  'batch',
  'sample',
  'fitIndex',
  'fitEpoch',
  'fitStep',
  'epochBatch',
  'stage',
  'stageEpoch',
  'stageStep',
] as const;

class TrainerJsonChecker {
  constructor(private readonly where: string) {}

  fail(path: string, expected: string, got: unknown): never {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `${this.where}: ${path} must be ${expected}; got ${shownValue(got)}. The file was edited or damaged after it ` +
        'was written: resume from another checkpoint, or drop resumeFrom to start afresh.',
    );
  }

  require(ok: boolean, path: string, expected: string, got: unknown): void {
    if (!ok) this.fail(path, expected, got);
  }

  time(value: unknown, path: string): void {
    this.require(isRecord(value), path, 'an object of training counters', value);
    const t = value as Json;
    // Counters are integers; a trainer that never fitted has fitIndex -1.
    const isCounter = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= -1;
    for (const key of TIME_COUNTERS) {
      if (t[key] !== undefined) this.require(isCounter(t[key]), `${path}.${key}`, 'an integer ≥ -1', t[key]);
    }
    for (const key of ['epoch', 'step', 'batch', 'fitIndex'] as const) {
      this.require(isCounter(t[key]), `${path}.${key}`, 'an integer ≥ -1', t[key]);
    }
    if (t.fraction !== undefined) {
      this.require(typeof t.fraction === 'number', `${path}.fraction`, 'a number', t.fraction);
    }
  }

  fit(value: unknown): void {
    if (value === undefined || value === null) return;
    this.require(isRecord(value), 'fit', 'an object or absent', value);
    const f = value as Json;
    for (const key of ['index', 'epochs', 'epochsDone', 'fitStep', 'fitBatch'] as const) {
      this.require(isCount(f[key]), `fit.${key}`, 'an integer ≥ 0', f[key]);
    }
    const perEpoch = f.batchesPerEpoch;
    if (perEpoch !== undefined && perEpoch !== null) {
      this.require(
        isCount(perEpoch) && (perEpoch as number) > 0,
        'fit.batchesPerEpoch',
        'an integer ≥ 1',
        perEpoch,
      );
    }
    if (f.midEpoch === undefined || f.midEpoch === null) return;
    this.require(isRecord(f.midEpoch), 'fit.midEpoch', 'an object', f.midEpoch);
    const m = f.midEpoch as Json;
    for (const key of ['epochBatch', 'count', 'smoothN'] as const) {
      this.require(isCount(m[key]), `fit.midEpoch.${key}`, 'an integer ≥ 0', m[key]);
    }
    this.require(
      typeof m.epochStartRng === 'number',
      'fit.midEpoch.epochStartRng',
      'a number',
      m.epochStartRng,
    );
    this.require(
      Array.isArray(m.sums) && m.sums.every(isNumberOrNull),
      'fit.midEpoch.sums',
      'an array of numbers',
      m.sums,
    );
    if (m.smoothAvg !== undefined) {
      this.require(isNumberOrNull(m.smoothAvg), 'fit.midEpoch.smoothAvg', 'a number', m.smoothAvg);
    }
  }

  stopReason(value: unknown): void {
    if (value === undefined || value === null) return;
    this.require(isRecord(value), 'stopReason', 'an object or absent', value);
    const s = value as Json;
    for (const key of ['by', 'message', 'hook'] as const) {
      this.require(typeof s[key] === 'string', `stopReason.${key}`, 'a string', s[key]);
    }
    this.time(s.time, 'stopReason.time');
  }

  history(value: unknown): void {
    this.require(Array.isArray(value), 'history', 'an array of epoch records', value);
    (value as unknown[]).forEach((record, i) => {
      const path = `history[${i}]`;
      this.require(isRecord(record), path, 'an object { epoch, fitIndex, logs }', record);
      const r = record as Json;
      this.require(isCount(r.epoch), `${path}.epoch`, 'an integer ≥ 0', r.epoch);
      this.require(isCount(r.fitIndex), `${path}.fitIndex`, 'an integer ≥ 0', r.fitIndex);
      this.require(isRecord(r.logs), `${path}.logs`, 'an object of numbers', r.logs);
      for (const [key, v] of Object.entries(r.logs as Json)) {
        // JSON writes NaN as null: a NaN loss is history too.
        this.require(isNumberOrNull(v), `${path}.logs.${key}`, 'a number', v);
      }
    });
  }

  hparams(value: unknown): void {
    this.require(
      isRecord(value) && Array.isArray(value.entries),
      'hparams',
      'the hyperparameter store state { format, entries: [...] }',
      value,
    );
    ((value as Json).entries as unknown[]).forEach((entry, i) => {
      const path = `hparams.entries[${i}]`;
      const e = entry as Json;
      this.require(
        isRecord(entry) && typeof e.name === 'string',
        path,
        'an object { name, base, factors }',
        entry,
      );
      this.require(
        typeof e.base === 'number' && Number.isFinite(e.base),
        `${path}.base`,
        'a finite number',
        e.base,
      );
      this.require(isRecord(e.factors), `${path}.factors`, 'an object of numbers', e.factors);
      if (e.group !== undefined)
        this.require(typeof e.group === 'string', `${path}.group`, 'a string', e.group);
      if (e.set !== undefined) {
        const set = e.set as Json;
        this.require(
          isRecord(e.set) &&
            typeof set.value === 'number' &&
            Number.isFinite(set.value) &&
            typeof set.by === 'string',
          `${path}.set`,
          '{ value: a finite number, by: a plugin name }',
          e.set,
        );
      }
    });
  }

  weightSpecs(value: unknown, path: string, optional: boolean): void {
    if (optional && value === undefined) return;
    this.require(Array.isArray(value), path, 'an array of weight specs', value);
    (value as unknown[]).forEach((spec, i) => {
      this.require(
        isRecord(spec) && typeof spec.name === 'string',
        `${path}[${i}]`,
        'a weight spec { name, shape, dtype }',
        spec,
      );
    });
  }

  optimizer(value: unknown): void {
    this.require(isRecord(value), 'optimizer', 'the saved optimizer { kind, ... }', value);
    const o = value as Json;
    if (o.kind === 'tensorloop') {
      this.require(
        isRecord(o.meta) && typeof (o.meta as Json).type === 'string',
        'optimizer.meta',
        'an object with a "type"',
        o.meta,
      );
      return;
    }
    this.require(o.kind === 'tfjs', 'optimizer.kind', '"tensorloop" or "tfjs"', o.kind);
    this.require(typeof o.className === 'string', 'optimizer.className', 'a string', o.className);
    this.require(isCount(o.iterations), 'optimizer.iterations', 'an integer ≥ 0', o.iterations);
    this.require(
      Array.isArray(o.slotKinds) && o.slotKinds.every((k) => typeof k === 'string'),
      'optimizer.slotKinds',
      'an array of strings',
      o.slotKinds,
    );
    if (o.accumulators !== undefined) {
      this.require(
        isRecord(o.accumulators) && Object.values(o.accumulators).every((v) => typeof v === 'number'),
        'optimizer.accumulators',
        'an object of numbers',
        o.accumulators,
      );
    }
  }

  plugins(value: unknown): void {
    this.require(isRecord(value), 'plugins', 'an object of plugin states by name', value);
    for (const [name, entry] of Object.entries(value as Json)) {
      const path = `plugins[${JSON.stringify(name)}]`;
      this.require(isRecord(entry), path, 'an object { version, state }', entry);
      const e = entry as Json;
      this.require(
        e.version === null || e.version === undefined || typeof e.version === 'string',
        `${path}.version`,
        'a string or null',
        e.version,
      );
      if (e.tensors !== undefined) {
        this.require(
          Array.isArray(e.tensors) && e.tensors.every((t) => typeof t === 'string'),
          `${path}.tensors`,
          'an array of tensor names',
          e.tensors,
        );
      }
    }
  }
}

/** Refuses a `trainer.json` whose fields are not what `@tensorloop/core` writes, naming the field. */
export function checkTrainerJsonFields(json: Record<string, unknown>, where: string): void {
  const c = new TrainerJsonChecker(where);
  c.require(
    typeof json.formatVersion === 'number' && Number.isInteger(json.formatVersion) && json.formatVersion >= 1,
    'formatVersion',
    'a positive integer',
    json.formatVersion,
  );
  c.time(json.time, 'time');
  c.require(
    typeof json.rng === 'number' && Number.isFinite(json.rng),
    'rng',
    'a number (the RNG state)',
    json.rng,
  );
  c.fit(json.fit);
  c.stopReason(json.stopReason);
  c.history(json.history);
  c.hparams(json.hparams);
  c.require(
    Array.isArray(json.frozen) && json.frozen.every((f) => typeof f === 'string'),
    'frozen',
    'an array of weight names',
    json.frozen,
  );
  c.optimizer(json.optimizer);
  c.weightSpecs(json.optimizerWeights, 'optimizerWeights', false);
  c.weightSpecs(json.pluginWeights, 'pluginWeights', true);
  c.plugins(json.plugins);
  c.require(
    json.loss === null || json.loss === undefined || typeof json.loss === 'string',
    'loss',
    'a loss name or null',
    json.loss,
  );
}
