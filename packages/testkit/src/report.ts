import type { HookTiming } from './instrument.js';
import type { ResumeOutcome } from './resume-contract.js';

/** The checks `checkPlugin` runs, in report order. */
export const CHECK_NAMES = [
  'load',
  'leaks',
  'resume',
  'stop',
  'skipBatch',
  'error',
  'refit',
  'state',
  'parseState',
  'hparams',
  'timing',
] as const;

export type CheckName = (typeof CHECK_NAMES)[number];

export interface CheckResult {
  readonly name: CheckName;
  readonly status: 'pass' | 'fail' | 'skip';
  /** One line: what was checked and what was seen. */
  readonly summary: string;
  /** Why it failed, one readable sentence each (empty when it passed). */
  readonly problems: readonly string[];
  /** Worth knowing, never a failure: backends not checked, declared values never written, ... */
  readonly notes: readonly string[];
  readonly seconds: number;
}

export interface PluginReport {
  /** The plugin's `name`. */
  readonly plugin: string;
  /** True when no check failed. */
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
  /** Every failing check's problems, as `check: problem`. Empty when `ok`. */
  readonly problems: readonly string[];
  /** Time spent in each of the plugin's hooks in the main run, slowest first. */
  readonly timing: readonly HookTiming[];
  /** The resume check's runs (uninterrupted and resumed results, decisions), for assertions of your own. */
  readonly resume: readonly ResumeOutcome[];
  readonly seconds: number;
  /** One check's result. */
  check(name: CheckName): CheckResult | undefined;
  /** The report as text: one line per check, problems and notes indented below. */
  format(): string;
}

const MARK = { pass: '✓', fail: '✗', skip: '-' } as const;

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line, i) => (i === 0 ? line : `${prefix}  ${line}`))
    .join('\n');
}

export function formatReport(report: Omit<PluginReport, 'format' | 'check'>): string {
  const count = (s: CheckResult['status']) => report.checks.filter((c) => c.status === s).length;
  const lines = [
    `checkPlugin ${report.plugin}: ${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped (${report.seconds.toFixed(1)} s)`,
  ];
  const width = Math.max(...report.checks.map((c) => c.name.length));
  for (const c of report.checks) {
    lines.push(`  ${MARK[c.status]} ${c.name.padEnd(width)}  ${c.summary} (${c.seconds.toFixed(1)} s)`);
    const pad = ' '.repeat(width + 6);
    for (const p of c.problems) lines.push(`${pad}✗ ${indent(p, pad)}`);
    for (const n of c.notes) lines.push(`${pad}note: ${indent(n, pad)}`);
  }
  return lines.join('\n');
}

export function makeReport(
  plugin: string,
  checks: CheckResult[],
  timing: HookTiming[],
  resume: ResumeOutcome[],
  seconds: number,
): PluginReport {
  const ordered = [...checks].sort((a, b) => CHECK_NAMES.indexOf(a.name) - CHECK_NAMES.indexOf(b.name));
  const problems = ordered
    .filter((c) => c.status === 'fail')
    .flatMap((c) => c.problems.map((p) => `${c.name}: ${p}`));
  const base = { plugin, ok: problems.length === 0, checks: ordered, problems, timing, resume, seconds };
  const text = formatReport(base);
  return {
    ...base,
    check: (name) => ordered.find((c) => c.name === name),
    format: () => text,
  };
}

/**
 * Throws when a check failed, with the whole report as the message: for test runners without a
 * diff of arrays (`node --test`). Under Vitest, `expect(report.problems).toEqual([])` reads as well.
 */
export function assertWellBehaved(report: PluginReport): void {
  if (report.ok) return;
  const error = new Error(`${report.plugin} is not well-behaved:\n${report.format()}`);
  error.name = 'PluginCheckFailed';
  throw error;
}

/** A check's result, timed from `startedAt` (a `performance.now()` value). */
export function checkResult(
  name: CheckName,
  startedAt: number,
  parts: { status?: CheckResult['status']; summary: string; problems?: string[]; notes?: string[] },
): CheckResult {
  const problems = parts.problems ?? [];
  return {
    name,
    status: parts.status ?? (problems.length > 0 ? 'fail' : 'pass'),
    summary: parts.summary,
    problems,
    notes: parts.notes ?? [],
    seconds: (performance.now() - startedAt) / 1000,
  };
}
