import { closestKey, describeValue, type OptimizerType } from '@tensorloop/core';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { invalidSchedule } from './errors.js';
import { nodeModules } from './node-fs.js';
import {
  LR_SCHEDULE_BUILDERS,
  type LrFactorFn,
  type LrScheduleBuilder,
  type ParsedLrSchedule,
  type ParsedPhase,
  type ScheduleInput,
} from './schedule-types.js';

/** A schedule read from its source, not yet matched against a model. */
export interface ParsedSchedule {
  readonly phases: readonly ParsedPhase[];
  /** Where it came from, for messages (`the file ft.yaml`, `the YAML text`, `the schedule object`). */
  readonly source: string;
  readonly warnings: readonly string[];
}

const PHASE_KEYS = ['params', 'maxTransitionEpoch', 'lr', 'newOptimizer', 'newLrSchedule'] as const;
const SNAKE: Readonly<Record<string, (typeof PHASE_KEYS)[number]>> = {
  max_transition_epoch: 'maxTransitionEpoch',
  new_optimizer: 'newOptimizer',
  new_lr_schedule: 'newLrSchedule',
};
const LR_SCHEDULE_KEYS = ['fn', 'args', 'every', 'total'];
const OPTIMIZER_TYPES: readonly OptimizerType[] = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'];

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A one-line string ending in `.yaml`/`.yml` is a file path; any other string is YAML text. */
export function isSchedulePath(input: string): boolean {
  return !/[\r\n]/.test(input) && /\.ya?ml$/i.test(input.trim());
}

/** The raw schedule of a source: a file is read synchronously (Node), YAML is parsed with unique keys. */
export function readScheduleSource(input: ScheduleInput): { raw: unknown; source: string } {
  if (typeof input !== 'string') return { raw: input, source: 'the schedule object' };
  if (!isSchedulePath(input)) return { raw: parseYaml(input, 'the YAML text'), source: 'the YAML text' };
  const node = nodeModules();
  if (node === undefined) {
    invalidSchedule(
      `the schedule '${input}' is a file path, which only Node.js can read. In a browser, pass the YAML text or an object.`,
    );
  }
  let text: string;
  try {
    text = node.fs.readFileSync(input, 'utf8');
  } catch (cause) {
    invalidSchedule(
      `Could not find specified fine-tuning scheduling file '${input}': ${(cause as Error).message}. Pass an existing YAML file, the YAML text or a schedule object.`,
    );
  }
  return { raw: parseYaml(text, `the file '${input}'`), source: `the file '${input}'` };
}

/** YAML → JS, refusing duplicate keys at any level with FTS's message. */
export function parseYaml(text: string, source: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: false });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    invalidSchedule(`${source} is not valid YAML: ${syntax.message}. Fix the YAML and try again.`);
  }
  const duplicate = findDuplicateKey(doc.contents);
  if (duplicate !== undefined) {
    invalidSchedule(
      `Duplicate key (${duplicate}) found in supplied schedule: ${source}. Please validate schedule before resubmitting.`,
    );
  }
  return doc.toJS();
}

function findDuplicateKey(node: unknown): string | undefined {
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const item of node.items) {
      const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
      if (seen.has(key)) return key;
      seen.add(key);
      const inner = findDuplicateKey(item.value);
      if (inner !== undefined) return inner;
    }
  } else if (isSeq(node)) {
    for (const item of node.items) {
      const inner = findDuplicateKey(item);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

/** Phase records by integer key, checked to be 0, 1, ..., n − 1 (FTS's key rules). */
function phaseEntries(raw: unknown, source: string): [number, unknown][] {
  if (Array.isArray(raw)) return raw.map((phase, i) => [i, phase]);
  if (!isRecord(raw)) {
    invalidSchedule(
      `${source} must map phase numbers to phases ({ 0: { params: [...] }, 1: ... }) or be an array of phases; got ${raw === null || raw === undefined ? 'nothing' : typeof raw}.`,
    );
  }
  const keys = Object.keys(raw);
  if (keys.length === 0) invalidSchedule(`${source} has no phases. Give at least phase 0.`);
  const notIntegers = keys.filter((k) => !/^\s*-?\d+\s*$/.test(k));
  if (notIntegers.length > 0) {
    invalidSchedule(
      `The supplied schedule was found to use one or more keys that were not convertible to integers (${notIntegers.map((k) => `'${k}'`).join(', ')}). Phase keys must be the integers 0, 1, 2, ...`,
    );
  }
  const entries = keys.map((k) => [Number.parseInt(k, 10), raw[k]] as [number, unknown]);
  entries.sort((a, b) => a[0] - b[0]);
  const contiguous = entries.every(([k], i) => k === i);
  if (!contiguous) {
    const renumbered = entries.map(([k], i) => `${k} → ${i}`).join(', ');
    invalidSchedule(
      `The supplied schedule was found to have non-contiguous or non-zero-indexed keys (${entries.map(([k]) => k).join(', ')}). Phase keys must be 0, 1, ..., ${entries.length - 1}: renumber them (${renumbered}) and validate the schedule before training.`,
    );
  }
  return entries;
}

/** The phase's fields under their camelCase names, refusing unknown keys and double spellings. */
function phaseFields(phase: unknown, depth: number): Record<string, unknown> {
  if (!isRecord(phase)) {
    invalidSchedule(`phase ${depth} must be a mapping such as { params: ['out/kernel', 'out/bias'] }.`);
  }
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(phase)) {
    const name = SNAKE[key] ?? key;
    if (key === 'new_lr_scheduler' || key === 'newLrScheduler') {
      invalidSchedule(
        `phase ${depth} has '${key}', FTS's torch lr-scheduler directive (class_path, init_args), which cannot run on tfjs. Use newLrSchedule (YAML: new_lr_schedule) with a @tensorloop/lr-schedules builder, e.g. { fn: step, args: { from: 1, gamma: 0.7, every: 1 } } (a factor of each group's lr).`,
      );
    }
    if (!(PHASE_KEYS as readonly string[]).includes(name)) {
      const near = closestKey(key, [...PHASE_KEYS, ...Object.keys(SNAKE)]);
      invalidSchedule(
        `phase ${depth} has an unknown key '${key}'${near ? ` (did you mean '${near}'?)` : ''}. Phase keys: ${PHASE_KEYS.join(', ')} (YAML also max_transition_epoch, new_optimizer, new_lr_schedule).`,
      );
    }
    if (name in fields) {
      invalidSchedule(`phase ${depth} gives ${name} twice (camelCase and snake_case). Keep one.`);
    }
    fields[name] = value;
  }
  return fields;
}

function parsePatterns(value: unknown, depth: number): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    invalidSchedule(
      `phase ${depth} needs params: a non-empty list of weight names or regexes (e.g. ['out/kernel', 'out/bias'] or ['^conv2/']); got ${JSON.stringify(value) ?? 'nothing'}.`,
    );
  }
  return value.map((p) => {
    if (typeof p !== 'string' || p === '') {
      invalidSchedule(
        `phase ${depth} lists ${JSON.stringify(p)} in params; each entry must be a non-empty string.`,
      );
    }
    return p;
  });
}

function parseMaxTransitionEpoch(value: unknown, depth: number): number {
  if (value === undefined || value === null) return -1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -1) {
    invalidSchedule(
      `phase ${depth}: maxTransitionEpoch must be an integer ≥ 0 (the epoch, of the stage in a multi-stage run, at whose start the next phase begins) or -1 (early stopping only); got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

/** A float as FTS casts it (`float(lr)`), refusing what is not a finite number ≥ 0. */
function parseLr(value: unknown, depth: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
    invalidSchedule(
      `The lr ${typeof value === 'string' ? `'${value}'` : describeValue(value)} in phase ${depth} of the provided explicit schedule could not be cast to a float ≥ 0. Give a number such as 1e-5.`,
    );
  }
  return n;
}

function parseNewOptimizer(
  value: unknown,
  depth: number,
): { hparams: Record<string, number>; type: OptimizerType | undefined } {
  if (!isRecord(value)) {
    invalidSchedule(
      `phase ${depth}: newOptimizer must be a mapping of hyperparameters such as { lr: 1e-4, weightDecay: 0.01 }.`,
    );
  }
  if ('optimizer_init' in value) {
    invalidSchedule(
      `phase ${depth}: newOptimizer uses FTS's optimizer_init (a torch class_path), which cannot run on tfjs. Give the hyperparameters directly: new_optimizer: { type: adamw, lr: 1e-4, weightDecay: 0.01 }.`,
    );
  }
  let type: OptimizerType | undefined;
  const hparams: Record<string, number> = {};
  for (const [key, raw] of Object.entries(value)) {
    if (key === 'type') {
      if (!OPTIMIZER_TYPES.includes(raw as OptimizerType)) {
        invalidSchedule(
          `phase ${depth}: newOptimizer.type must be one of ${OPTIMIZER_TYPES.join(', ')}; got ${JSON.stringify(raw)}.`,
        );
      }
      type = raw as OptimizerType;
      continue;
    }
    const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
      invalidSchedule(
        `phase ${depth}: newOptimizer.${key} must be a finite number ≥ 0; got ${JSON.stringify(raw)}.`,
      );
    }
    hparams[key] = n;
  }
  return { hparams, type };
}

function parseLrSchedule(value: unknown, depth: number): ParsedLrSchedule {
  if (typeof value === 'function')
    return { fn: value as LrFactorFn, args: undefined, every: 'epoch', total: undefined };
  if (!isRecord(value)) {
    invalidSchedule(
      `phase ${depth}: newLrSchedule must be a function (p, span) => factor, or { fn, args?, every?, total? } with fn a function or a @tensorloop/lr-schedules builder (${LR_SCHEDULE_BUILDERS.join(', ')}).`,
    );
  }
  for (const key of Object.keys(value)) {
    if (!LR_SCHEDULE_KEYS.includes(key)) {
      const near = closestKey(key, LR_SCHEDULE_KEYS);
      invalidSchedule(
        `phase ${depth}: newLrSchedule has an unknown key '${key}'${near ? ` (did you mean '${near}'?)` : ''}. Keys: ${LR_SCHEDULE_KEYS.join(', ')}.`,
      );
    }
  }
  const { fn, args, every = 'epoch', total } = value;
  if (typeof fn !== 'function' && !(LR_SCHEDULE_BUILDERS as readonly unknown[]).includes(fn)) {
    invalidSchedule(
      `phase ${depth}: newLrSchedule.fn must be a function or one of the @tensorloop/lr-schedules builders ${LR_SCHEDULE_BUILDERS.join(', ')}; got ${JSON.stringify(fn) ?? 'nothing'}.`,
    );
  }
  if (every !== 'epoch' && every !== 'step') {
    invalidSchedule(
      `phase ${depth}: newLrSchedule.every must be 'epoch' or 'step'; got ${JSON.stringify(every)}.`,
    );
  }
  if (total !== undefined && !(typeof total === 'number' && Number.isInteger(total) && total >= 1)) {
    invalidSchedule(
      `phase ${depth}: newLrSchedule.total must be an integer ≥ 1; got ${JSON.stringify(total)}.`,
    );
  }
  return { fn: fn as LrFactorFn | LrScheduleBuilder, args, every, total: total as number | undefined };
}

/** Checks a raw schedule's structure (no model needed) and reads its phases. */
export function parseSchedule(raw: unknown, source: string): ParsedSchedule {
  const warnings: string[] = [];
  const phases = phaseEntries(raw, source).map(([depth, phase]): ParsedPhase => {
    const f = phaseFields(phase, depth);
    let lr = parseLr(f.lr, depth);
    if (depth === 0) {
      for (const key of ['newOptimizer', 'newLrSchedule'] as const) {
        if (f[key] !== undefined) {
          invalidSchedule(
            `You have specified a ${key} reinitialization directive for the initial training phase, which is an invalid configuration: phase 0 trains with the optimizer given to the Trainer. Move it to phase 1 or later, or configure the Trainer's optimizer.`,
          );
        }
      }
      if (lr !== undefined) {
        warnings.push(
          `A lr for fine-tuning phase 0 has been specified (${lr}). This lr will be overridden by the lr of the optimizer given to the Trainer.`,
        );
        lr = undefined;
      }
    }
    const optimizer = f.newOptimizer === undefined ? undefined : parseNewOptimizer(f.newOptimizer, depth);
    return {
      depth,
      patterns: parsePatterns(f.params, depth),
      maxTransitionEpoch: parseMaxTransitionEpoch(f.maxTransitionEpoch, depth),
      lr,
      newOptimizer: optimizer?.hparams,
      newOptimizerType: optimizer?.type,
      newLrSchedule: f.newLrSchedule === undefined ? undefined : parseLrSchedule(f.newLrSchedule, depth),
    };
  });
  return { phases, source, warnings };
}

/** The last phase a run reaches: `maxDepth` −1 (or past the end) means the whole schedule. */
export function resolveMaxDepth(maxDepth: number, phases: number): number {
  return maxDepth < 0 || maxDepth >= phases - 1 ? phases - 1 : maxDepth;
}

/**
 * Transition-epoch checks that depend on `maxDepth`: epoch-only mode needs a `maxTransitionEpoch` on
 * every phase that transitions; non-increasing transition epochs and one on the final phase warn.
 */
export function checkTransitionEpochs(
  phases: readonly ParsedPhase[],
  maxDepth: number,
  epochTransitionsOnly: boolean,
): string[] {
  const warnings: string[] = [];
  const transitioning = phases.slice(0, maxDepth);
  if (epochTransitionsOnly) {
    const missing = transitioning.filter((p) => p.maxTransitionEpoch < 0).map((p) => p.depth);
    if (missing.length > 0) {
      invalidSchedule(
        `epochTransitionsOnly specified but some phases (${missing.join(', ')}) are missing a maxTransitionEpoch. Please unset epochTransitionsOnly or specify a maxTransitionEpoch for each phase before the final one.`,
      );
    }
  }
  let highest = -1;
  for (const phase of transitioning) {
    const mte = phase.maxTransitionEpoch;
    if (mte < 0) continue;
    if (phase.depth > 0 && mte <= highest) {
      warnings.push(
        `Specified maxTransitionEpoch of depth ${phase.depth} (${mte}) is less than or equal to a previous maxTransitionEpoch (${highest}), depth may execute only a single epoch${epochTransitionsOnly ? '.' : ' depending upon early stopping criteria.'}`,
      );
    }
    highest = Math.max(highest, mte);
  }
  const final = phases[maxDepth];
  if (final !== undefined && final.maxTransitionEpoch >= 0) {
    warnings.push(
      `Final phase maxTransitionEpoch (${final.maxTransitionEpoch}) is ignored: the final phase (${maxDepth}) trains until ${epochTransitionsOnly ? "the fit's epochs end" : "its early stopping criteria are met or the fit's epochs end"}.`,
    );
  }
  return warnings;
}
