// The resume contract (DESIGN §9): train N steps, checkpoint, "crash", resume in a fresh Node process
// and finish ≡ train N+M steps in one process — weights within the tolerance, equal history, time,
// stop reason and plugin decisions. Moved here from packages/tests, where scenarios had to be
// compiled modules; `checkPlugin` drives it from a plugin's factory module instead.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataInput, FitOptions, Plugin, Trainer } from '@tensorloop/core';
import type { Interruption } from './companions.js';
import { jsonDifference, tensorDifference } from './json-state.js';
import type { ModuleRef } from './plugin-source.js';
import type { KitSetup } from './setup.js';
import { maskDecision, type VolatilePath } from './volatile-state.js';

export type { Interruption } from './companions.js';

// This file sits one level below the package in src/ and (bundled) in dist/: either way the child
// entry is the compiled one.
const CHILD = fileURLToPath(new URL('../dist/child.js', import.meta.url));

/**
 * A resume-contract scenario: builds a trainer from scratch, exactly as a fresh process would. The
 * module that defines it default-exports it (compiled JS, run in child processes). For one plugin,
 * `checkPlugin` builds the scenario itself; write one for cross-package setups.
 */
export interface ContractScenario {
  /** `extraPlugins` (the harness's interrupter) must be appended to the trainer's plugins. */
  create(extraPlugins: Plugin[]): Promise<ContractRun>;
}

export interface ContractRun {
  readonly trainer: Trainer;
  readonly data: DataInput;
  /** The fit's options, `epochs` included (the total of the uninterrupted run). */
  readonly fit: Omit<FitOptions, 'resumeFrom'>;
  /** Decisions to compare (stop epoch, lr values, phases): each call returns those made since the last call. */
  readonly takeDecisions?: () => unknown[];
  /**
   * Drives the run instead of `trainer.fit(data, fit)` (a multi-stage driver such as the
   * meta-trainer): called with the checkpoint directory in the resumed process and undefined
   * otherwise. Returns the run's stop reason, if it stopped.
   */
  readonly run?: (resumeFrom: string | undefined) => Promise<{ by: string; message: string } | undefined>;
}

export interface RunResult {
  readonly weights: Record<string, number[]>;
  readonly history: { epoch: number; fitIndex: number; logs: Record<string, number> }[];
  readonly time: Record<string, number>;
  readonly stopReason: { by: string; message: string } | null;
  readonly decisions: unknown[];
}

/** What one interrupted-and-resumed run gave, against the uninterrupted one. */
export interface ResumeOutcome {
  readonly interruption: Interruption;
  readonly straight: RunResult;
  readonly resumed: RunResult;
  /** Decisions of the interrupted process followed by those of the resumed one. */
  readonly decisions: unknown[];
  readonly maxWeightDiff: number;
  readonly maxLogDiff: number;
  readonly problems: string[];
}

/** The scenario-module form (cross-package scenarios). */
export interface ContractOptions {
  /** Path of a compiled module whose default export is a `ContractScenario`. */
  readonly scenario: string;
  /** Where the first process stops (right after a checkpoint there). */
  readonly interruption: Interruption;
  /** Largest allowed weight / relative log difference. Default 1e-6 (cpu). */
  readonly tolerance?: number;
  /** The backend every process trains on. Default `'cpu'`; `'wasm'` needs @tensorloop/backend-wasm. */
  readonly backend?: 'cpu' | 'wasm';
}

export type ContractReport = Omit<ResumeOutcome, 'interruption'>;

/** What a child process builds its trainer from. */
export type ChildRun =
  | { readonly kind: 'scenario'; readonly path: string }
  | {
      readonly kind: 'plugin';
      readonly subject: ModuleRef;
      readonly companions: readonly ModuleRef[];
      readonly setup: KitSetup;
      readonly states: boolean;
    };

export interface ChildSpec {
  readonly run: ChildRun;
  readonly mode: 'straight' | 'first' | 'resume';
  readonly dir: string;
  readonly out: string;
  readonly interruption?: Interruption;
  readonly backend?: 'cpu' | 'wasm';
}

export function collectRun(trainer: Trainer, decisions: unknown[]): RunResult {
  return {
    weights: Object.fromEntries(
      trainer.model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]),
    ),
    history: trainer.history.map((h) => ({
      epoch: h.epoch,
      fitIndex: h.fitIndex,
      logs: { ...h.logs } as Record<string, number>,
    })),
    time: { ...trainer.time },
    stopReason: null,
    decisions,
  };
}

function logDiff(a: RunResult['history'], b: RunResult['history'], problems: string[]): number {
  if (a.length !== b.length) {
    problems.push(`history has ${b.length} epochs after resume, ${a.length} in the uninterrupted run`);
    return Number.POSITIVE_INFINITY;
  }
  let max = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    if (x.epoch !== y.epoch || x.fitIndex !== y.fitIndex) {
      problems.push(
        `history[${i}] is epoch ${y.epoch} (fit ${y.fitIndex}), expected ${x.epoch} (fit ${x.fitIndex})`,
      );
    }
    const keys = Object.keys(x.logs).sort().join(', ');
    const other = Object.keys(y.logs).sort().join(', ');
    if (keys !== other)
      problems.push(`history[${i}] has log keys ${other} after resume, ${keys} uninterrupted`);
    for (const k of Object.keys(x.logs)) {
      const d = Math.abs(x.logs[k]! - (y.logs[k] ?? Number.NaN));
      max = Math.max(max, Number.isNaN(d) ? Number.POSITIVE_INFINITY : d / Math.max(1, Math.abs(x.logs[k]!)));
    }
  });
  return max;
}

function describeDecision(d: unknown): string {
  const x = d as { at?: string; step?: number; epoch?: number };
  if (x?.at === 'step') return `after step ${x.step}`;
  if (x?.at === 'epoch') return `at the end of epoch ${x.epoch}`;
  if (x?.at === 'fitEnd') return 'at the end of the fit';
  return JSON.stringify(d)?.slice(0, 60) ?? String(d);
}

/** Compares decisions; tensors recorded with them are compared within the tolerance. */
function decisionProblems(
  straight: unknown[],
  resumed: unknown[],
  tolerance: number,
  problems: string[],
  volatile: VolatileFields | undefined,
): void {
  const strip = (d: unknown) => {
    const masked = volatile ? maskDecision(d, volatile.plugin, volatile.paths) : d;
    if (masked === null || typeof masked !== 'object' || !('tensors' in masked)) return masked;
    const { tensors: _, ...rest } = masked as Record<string, unknown>;
    return rest;
  };
  const n = Math.max(straight.length, resumed.length);
  const differences: string[] = [];
  for (let i = 0; i < n && differences.length < 3; i++) {
    const a = straight[i];
    const b = resumed[i];
    if (a === undefined || b === undefined) {
      differences.push(
        `${resumed.length} decisions after resume, ${straight.length} uninterrupted (first extra: ${describeDecision(a ?? b)})`,
      );
      break;
    }
    const diff = jsonDifference(strip(b), strip(a), 'decision');
    if (diff) differences.push(`${describeDecision(a)}: ${diff} (resumed vs uninterrupted)`);
    const ta = (a as { tensors?: Record<string, Record<string, number[]>> }).tensors;
    const tb = (b as { tensors?: Record<string, Record<string, number[]>> }).tensors;
    if (ta && tb) {
      for (const plugin of new Set([...Object.keys(ta), ...Object.keys(tb)])) {
        const local: string[] = [];
        const max = tensorDifference(ta[plugin] ?? {}, tb[plugin] ?? {}, local, `${plugin} state tensor`);
        differences.push(...local.map((p) => `${describeDecision(a)}: ${p}`));
        if (max > tolerance) {
          differences.push(
            `${describeDecision(a)}: ${plugin}'s state tensors differ by up to ${max} (tolerance ${tolerance})`,
          );
        }
      }
    }
  }
  if (differences.length > 0) {
    problems.push(`plugin decisions differ:\n  - ${differences.join('\n  - ')}`);
  }
}

/** The contract's verdict on an uninterrupted run and its interrupted-then-resumed twin. */
export function compareRuns(
  straight: RunResult,
  first: RunResult,
  resumed: RunResult,
  tolerance: number,
  volatile?: VolatileFields,
): Omit<ResumeOutcome, 'interruption'> {
  const problems: string[] = [];
  let maxWeightDiff = 0;
  for (const [name, values] of Object.entries(straight.weights)) {
    const other = resumed.weights[name];
    if (!other || other.length !== values.length) {
      problems.push(`weight ${name} is missing or has another size after resume`);
      continue;
    }
    values.forEach((v, i) => {
      maxWeightDiff = Math.max(maxWeightDiff, Math.abs(v - other[i]!));
    });
  }
  if (!(maxWeightDiff <= tolerance)) {
    problems.push(`weights differ by up to ${maxWeightDiff} (tolerance ${tolerance})`);
  }
  const maxLogDiff = logDiff(straight.history, resumed.history, problems);
  if (!(maxLogDiff <= tolerance)) {
    problems.push(`logs differ by up to ${maxLogDiff} (relative; tolerance ${tolerance})`);
  }
  if (JSON.stringify(straight.time) !== JSON.stringify(resumed.time)) {
    problems.push(
      `time differs: ${JSON.stringify(resumed.time)} after resume vs ${JSON.stringify(straight.time)}`,
    );
  }
  if (JSON.stringify(straight.stopReason) !== JSON.stringify(resumed.stopReason)) {
    problems.push(
      `stop reason differs: ${JSON.stringify(resumed.stopReason)} after resume vs ${JSON.stringify(straight.stopReason)}`,
    );
  }
  const decisions = [...first.decisions, ...resumed.decisions];
  decisionProblems(straight.decisions, decisions, tolerance, problems, volatile);
  return { straight, resumed, decisions, maxWeightDiff, maxLogDiff, problems };
}

/** A small pool: at most `size` tasks at once. */
function pool(size: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    // A finished task hands its slot straight to the next waiting one.
    if (running >= size) await new Promise<void>((resolve) => waiting.push(resolve));
    else running += 1;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}

/** A child's stderr without stack frames and tfjs's banner: the error's own lines. */
function errorLines(stderr: string): string {
  const lines = stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^\s+at /.test(l) && !/^=+$|TensorFlow\.js in Node\.js/.test(l));
  return lines.join('\n').slice(-2000) || '(no output)';
}

function runChild(spec: ChildSpec, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(spec)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else {
        const why = signal
          ? `was killed (${signal}${signal === 'SIGKILL' ? `, over ${timeoutMs} ms` : ''})`
          : `exited with ${code}`;
        reject(new Error(`the ${spec.mode} process ${why}: ${errorLines(stderr)}`));
      }
    });
  });
}

const backendOf = (o: { backend?: 'cpu' | 'wasm' }) => (o.backend ? { backend: o.backend } : {});

const readResult = async (file: string): Promise<RunResult> =>
  JSON.parse(await readFile(file, 'utf8')) as RunResult;

/** Wall-clock fields of one plugin's state, compared by kind only (see `volatile-state.ts`). */
export interface VolatileFields {
  readonly plugin: string;
  readonly paths: readonly VolatilePath[];
}

export interface ProcessRunOptions {
  readonly tolerance: number;
  readonly volatile?: VolatileFields;
  /** Per child process. */
  readonly timeoutMs: number;
  /** Child processes at once. Default: the machine's cores, at most 3. */
  readonly concurrency?: number;
  readonly backend?: 'cpu' | 'wasm';
}

/**
 * Runs the uninterrupted process once and, for every interruption, an interrupted one and the fresh
 * process that resumes from its checkpoint; independent processes run side by side.
 */
export async function resumeInProcesses(
  run: ChildRun,
  interruptions: readonly Interruption[],
  options: ProcessRunOptions,
): Promise<ResumeOutcome[]> {
  const work = await mkdtemp(join(tmpdir(), 'tl-resume-'));
  const limit = pool(options.concurrency ?? Math.max(1, Math.min(3, availableParallelism())));
  try {
    const straightOut = join(work, 'straight.json');
    const straight = limit(() =>
      runChild(
        { run, mode: 'straight', dir: join(work, 'unused'), out: straightOut, ...backendOf(options) },
        options.timeoutMs,
      ),
    ).then(() => readResult(straightOut));
    const splits = interruptions.map(async (interruption, i) => {
      const dir = join(work, `checkpoint-${i}`);
      const firstOut = join(work, `first-${i}.json`);
      const resumedOut = join(work, `resumed-${i}.json`);
      await limit(() =>
        runChild(
          { run, mode: 'first', dir, out: firstOut, interruption, ...backendOf(options) },
          options.timeoutMs,
        ),
      );
      await limit(() =>
        runChild({ run, mode: 'resume', dir, out: resumedOut, ...backendOf(options) }, options.timeoutMs),
      );
      return { interruption, first: await readResult(firstOut), resumed: await readResult(resumedOut) };
    });
    const [base, ...rest] = await Promise.all([straight, ...splits]);
    return (rest as Awaited<(typeof splits)[number]>[]).map(({ interruption, first, resumed }) => ({
      interruption,
      ...compareRuns(base as RunResult, first, resumed, options.tolerance, options.volatile),
    }));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The resume contract for a scenario module (cross-package setups): three child processes on the
 * cpu backend (or `backend: 'wasm'`) — the uninterrupted run, a run that saves at the interruption point (after every
 * other plugin's hooks) and exits at once as a crash would, and a fresh process that resumes.
 */
export async function runResumeContract(options: ContractOptions): Promise<ContractReport> {
  const [outcome] = await resumeInProcesses(
    { kind: 'scenario', path: options.scenario },
    [options.interruption],
    {
      tolerance: options.tolerance ?? 1e-6,
      timeoutMs: 600_000,
      ...backendOf(options),
    },
  );
  const { interruption: _, ...report } = outcome!;
  return report;
}
