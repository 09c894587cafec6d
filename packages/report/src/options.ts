import { checkOptionKeys, describeValue, TensorloopError } from '@tensorloop/core';

export interface ReportOptions {
  /** Folder for `report.html` and `history.json` (created if missing). Default `'tensorloop-report'`. */
  readonly dir?: string;
  /** Page title. Default `'Training report'`. */
  readonly title?: string;
  /** `'fitEnd'`: write both files when each fit ends; `'manual'`: only when you call `write()`. Default `'fitEnd'`. */
  readonly write?: 'fitEnd' | 'manual';
  /** Hyperparameters recorded per optimizer step: `'all'` (every value in the store) or names. Default `'all'`. */
  readonly hparams?: 'all' | readonly string[];
  /** Record the messages plugins write to the trainer's logger (shown in the page). Default true. */
  readonly messages?: boolean;
  /** Most points a hyperparameter or LR-finder line is drawn with (history.json keeps all). Default 400. */
  readonly maxPoints?: number;
  /** Plugin name. Default `@tensorloop/report`. */
  readonly name?: string;
}

export interface ResolvedReportOptions {
  readonly dir: string;
  readonly title: string;
  readonly write: 'fitEnd' | 'manual';
  readonly hparams: 'all' | readonly string[];
  readonly messages: boolean;
  readonly maxPoints: number;
  readonly name: string;
}

function invalid(message: string): never {
  throw new TensorloopError('TL_OPTION_INVALID', `report: ${message}`);
}

const OPTION_KEYS = ['dir', 'title', 'write', 'hparams', 'messages', 'maxPoints', 'name'];

export function resolveOptions(options: ReportOptions): ResolvedReportOptions {
  checkOptionKeys('report()', options, OPTION_KEYS);
  const o = options ?? {};
  const dir = o.dir ?? 'tensorloop-report';
  if (typeof dir !== 'string' || dir.length === 0) invalid('dir must be a non-empty path.');
  const write = o.write ?? 'fitEnd';
  if (write !== 'fitEnd' && write !== 'manual')
    invalid(`write must be 'fitEnd' or 'manual', got ${describeValue(write)}.`);
  const hparams = o.hparams ?? 'all';
  if (hparams !== 'all' && !(Array.isArray(hparams) && hparams.every((h) => typeof h === 'string')))
    invalid("hparams must be 'all' or an array of hyperparameter names.");
  const maxPoints = o.maxPoints ?? 400;
  if (!(Number.isInteger(maxPoints) && maxPoints >= 10))
    invalid(`maxPoints must be an integer ≥ 10, got ${describeValue(maxPoints)}.`);
  return {
    dir,
    title: o.title ?? 'Training report',
    write,
    hparams,
    messages: o.messages ?? true,
    maxPoints,
    name: o.name ?? '@tensorloop/report',
  };
}
