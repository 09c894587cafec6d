import { describeValue, TensorloopError } from '@tensorloop/core';
import type { AccuracyMatrixRecord, LrFinderRecord } from './types.js';

/**
 * The events the report listens to. Any package may emit them (it declares them in core's
 * `HookEvents` and fires them with `ctx.emit`); the report depends on none of those packages and
 * reads the fields below structurally, so extra fields are fine and a malformed event is skipped
 * with a warning instead of failing the fit.
 */
export const REPORT_EVENTS = {
  /** `{ phase: number, name?: string, message?: string, unfrozen?: string[] }`: a finetuning phase begins now. */
  transition: 'finetune:transition',
  /** `{ stage: number, name?: string, message?: string }`: a stage begins now. */
  stageStart: 'meta:stageStart',
  /** `{ stage: number, name?: string, message?: string, accuracies?: (number | null)[] | Record<string, number> }`: a stage ended; `accuracies` is its row of the accuracy matrix. */
  stageEnd: 'meta:stageEnd',
  /** `{ tasks: string[], matrix: (number | null)[][], metric?: string, stages?: string[] }`: the whole matrix. */
  accuracyMatrix: 'meta:accuracyMatrix',
  /** `{ count: number, message?: string }`: optimizer steps skipped since the last such event (loss-scale overflow). */
  stepsSkipped: 'amp:stepsSkipped',
} as const;

export type ReportEventName = (typeof REPORT_EVENTS)[keyof typeof REPORT_EVENTS];

type Fields = Record<string, unknown>;

function fields(value: unknown): Fields | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;
}

function optionalText(f: Fields, key: string): string | undefined {
  const v = f[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function optionalIndex(f: Fields, key: string): number | undefined {
  const v = f[key];
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export class ContractError extends Error {}

export interface Transition {
  readonly phase: number;
  readonly name: string | undefined;
  readonly message: string | undefined;
  readonly unfrozen: number | undefined;
}

export function parseTransition(event: unknown): Transition {
  const f = fields(event);
  const phase = f && optionalIndex(f, 'phase');
  if (!f || phase === undefined) throw new ContractError('needs { phase: integer ≥ 0 }');
  const unfrozen = Array.isArray(f.unfrozen) ? f.unfrozen.length : undefined;
  return { phase, name: optionalText(f, 'name'), message: optionalText(f, 'message'), unfrozen };
}

export interface Stage {
  readonly stage: number;
  readonly name: string | undefined;
  readonly message: string | undefined;
  readonly accuracies: readonly (number | null)[] | Readonly<Record<string, number>> | undefined;
}

export function parseStage(event: unknown): Stage {
  const f = fields(event);
  const stage = f && optionalIndex(f, 'stage');
  if (!f || stage === undefined) throw new ContractError('needs { stage: integer ≥ 0 }');
  let accuracies: Stage['accuracies'];
  const a = f.accuracies;
  if (Array.isArray(a)) {
    if (!a.every((v) => v === null || finite(v)))
      throw new ContractError('accuracies must be numbers (or null for a task not evaluated)');
    accuracies = a as (number | null)[];
  } else if (a !== undefined) {
    const byTask = fields(a);
    if (!byTask || !Object.values(byTask).every(finite))
      throw new ContractError('accuracies must be an array, or a { task: number } record');
    accuracies = byTask as Record<string, number>;
  }
  return { stage, name: optionalText(f, 'name'), message: optionalText(f, 'message'), accuracies };
}

export function parseStepsSkipped(event: unknown): { count: number; message: string | undefined } {
  const f = fields(event);
  const count = f?.count;
  if (!f || !(typeof count === 'number' && Number.isInteger(count) && count >= 0))
    throw new ContractError('needs { count: integer ≥ 0 }');
  return { count, message: optionalText(f, 'message') };
}

/** `{ tasks, matrix, metric?, stages? }` → the record (an API input: throws `TL_OPTION_INVALID`). */
export function parseAccuracyMatrix(input: unknown): AccuracyMatrixRecord {
  const bad = (why: string): never => {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `report: an accuracy matrix is { tasks: string[], matrix: (number | null)[][] } with matrix[i][j] the metric on task j after stage i; ${why}.`,
    );
  };
  const f = fields(input) ?? bad('got no object');
  const tasks = f.tasks;
  const matrix = f.matrix;
  if (!Array.isArray(tasks) || tasks.length === 0 || !tasks.every((t) => typeof t === 'string'))
    bad('tasks must be a non-empty array of names');
  if (!Array.isArray(matrix) || matrix.length === 0) bad('matrix must be a non-empty array of rows');
  const names = tasks as string[];
  const rows = (matrix as unknown[]).map((row, i) => {
    if (!Array.isArray(row) || row.length !== names.length)
      bad(`row ${i} must have one value per task (${names.length})`);
    const values = (row as unknown[]).map((v) =>
      v === null ? null : finite(v) ? v : bad(`row ${i} holds ${describeValue(v)}`),
    );
    return { stage: '', values };
  });
  const stages =
    Array.isArray(f.stages) && f.stages.length === rows.length ? (f.stages as unknown[]) : undefined;
  return {
    tasks: [...names],
    rows: rows.map((r, i) => ({
      ...r,
      stage: typeof stages?.[i] === 'string' ? (stages[i] as string) : `after ${names[i] ?? `stage ${i}`}`,
    })),
    metric: optionalText(f, 'metric') ?? 'accuracy',
  };
}

/**
 * An LR range test result: `@tensorloop/lr-schedules`' `findLr()` result (`{ curve: [{ lr, loss,
 * raw }], suggestions: { valley: { lr, loss }, ... }, stoppedBy }`), or the same shape from
 * elsewhere; `chosen` is the lr you went on with.
 */
export function parseLrFinder(input: unknown, chosen?: number): LrFinderRecord {
  const bad = (why: string): never => {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `report: an LR finder result is { curve: { lr, loss, raw? }[], suggestions?: { name: { lr, loss? } } } (what findLr() returns); ${why}.`,
    );
  };
  const f = fields(input) ?? bad('got no object');
  if (!Array.isArray(f.curve)) bad('curve must be an array');
  const curve = (f.curve as unknown[]).map((p, i) => {
    const q = fields(p);
    if (!q || !finite(q.lr) || !(q.lr > 0) || typeof q.loss !== 'number')
      bad(`curve[${i}] must be { lr > 0, loss }`);
    return {
      lr: q!.lr as number,
      loss: q!.loss as number,
      raw: typeof q!.raw === 'number' ? (q!.raw as number) : null,
    };
  });
  const suggestions: { name: string; lr: number; loss: number | null }[] = [];
  const s =
    f.suggestions === undefined || f.suggestions === null
      ? {}
      : (fields(f.suggestions) ?? bad('suggestions must be a record'));
  for (const [name, value] of Object.entries(s)) {
    const q = fields(value);
    if (!q || !finite(q.lr) || !(q.lr > 0)) bad(`suggestions.${name} must be { lr > 0, loss? }`);
    suggestions.push({ name, lr: q!.lr as number, loss: finite(q!.loss) ? q!.loss : null });
  }
  if (chosen !== undefined && !(finite(chosen) && chosen > 0))
    bad(`chosen must be an lr > 0, got ${describeValue(chosen)}`);
  return {
    curve,
    suggestions,
    chosen: chosen ?? null,
    stoppedBy: typeof f.stoppedBy === 'string' ? f.stoppedBy : null,
  };
}
