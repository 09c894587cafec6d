import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Interruption, RunResult } from './scenario.js';

/** Both src/contract and dist/contract sit two levels below the package: the child always runs compiled. */
const CHILD = fileURLToPath(new URL('../../dist/contract/child.js', import.meta.url));

export interface ContractOptions {
  /** Path of a compiled module whose default export is a `ContractScenario`. */
  readonly scenario: string;
  /** Where the first process stops (right after a checkpoint there). */
  readonly interruption: Interruption;
  /** Largest allowed weight / log difference. Default 1e-6 (cpu). */
  readonly tolerance?: number;
  /** The backend every process trains on. Default `'cpu'`; `'wasm'` uses @tensorloop/backend-wasm. */
  readonly backend?: 'cpu' | 'wasm';
}

export interface ContractReport {
  readonly straight: RunResult;
  readonly resumed: RunResult;
  /** Decisions of the interrupted process followed by those of the resumed one. */
  readonly decisions: unknown[];
  readonly maxWeightDiff: number;
  readonly maxLogDiff: number;
  readonly problems: string[];
}

function runChild(args: string[], backend: 'cpu' | 'wasm'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, TL_CONTRACT_BACKEND: backend },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`contract child (${args[1]}) exited with ${code}:\n${stderr.slice(-4000)}`));
    });
  });
}

const readResult = async (file: string): Promise<RunResult> =>
  JSON.parse(await readFile(file, 'utf8')) as RunResult;

function maxDiff(a: Record<string, number[]>, b: Record<string, number[]>, problems: string[]): number {
  let max = 0;
  for (const [name, values] of Object.entries(a)) {
    const other = b[name];
    if (!other || other.length !== values.length) {
      problems.push(`weight ${name} is missing or has another size after resume`);
      continue;
    }
    values.forEach((v, i) => {
      max = Math.max(max, Math.abs(v - other[i]!));
    });
  }
  return max;
}

function logDiff(a: unknown[], b: unknown[], problems: string[]): number {
  if (a.length !== b.length) {
    problems.push(`history has ${b.length} epochs after resume, ${a.length} in the uninterrupted run`);
    return Number.POSITIVE_INFINITY;
  }
  let max = 0;
  a.forEach((entry, i) => {
    const x = entry as { epoch: number; fitIndex: number; logs: Record<string, number> };
    const y = b[i] as typeof x;
    if (x.epoch !== y.epoch || x.fitIndex !== y.fitIndex)
      problems.push(
        `history[${i}] is epoch ${y.epoch} (fit ${y.fitIndex}), expected ${x.epoch} (fit ${x.fitIndex})`,
      );
    const keys = Object.keys(x.logs).sort().join(',');
    if (keys !== Object.keys(y.logs).sort().join(','))
      problems.push(`history[${i}] keys differ: ${Object.keys(y.logs)} vs ${Object.keys(x.logs)}`);
    for (const k of Object.keys(x.logs)) {
      const d = Math.abs(x.logs[k]! - (y.logs[k] ?? Number.NaN));
      max = Math.max(max, Number.isNaN(d) ? Number.POSITIVE_INFINITY : d / Math.max(1, Math.abs(x.logs[k]!)));
    }
  });
  return max;
}

/**
 * The resume contract (DESIGN §9): train N, checkpoint, "crash", resume in a fresh Node process and
 * finish ≡ train N+M in one process: weights within `tolerance`, equal history, equal time, equal
 * plugin decisions and stop reason. Three child processes run the scenario module.
 */
export async function runResumeContract(options: ContractOptions): Promise<ContractReport> {
  const tolerance = options.tolerance ?? 1e-6;
  const work = await mkdtemp(join(tmpdir(), 'tl-contract-'));
  try {
    const ckpt = join(work, 'checkpoint');
    const files = {
      straight: join(work, 'straight.json'),
      first: join(work, 'first.json'),
      resumed: join(work, 'resumed.json'),
    };
    const backend = options.backend ?? 'cpu';
    await runChild([options.scenario, 'straight', ckpt, files.straight], backend);
    await runChild(
      [options.scenario, 'first', ckpt, files.first, JSON.stringify(options.interruption)],
      backend,
    );
    await runChild([options.scenario, 'resume', ckpt, files.resumed], backend);
    const straight = await readResult(files.straight);
    const first = await readResult(files.first);
    const resumed = await readResult(files.resumed);
    const problems: string[] = [];
    const maxWeightDiff = maxDiff(straight.weights, resumed.weights, problems);
    if (!(maxWeightDiff <= tolerance))
      problems.push(`weights differ by up to ${maxWeightDiff} (tolerance ${tolerance})`);
    const maxLogDiff = logDiff(straight.history, resumed.history, problems);
    if (!(maxLogDiff <= tolerance))
      problems.push(`logs differ by up to ${maxLogDiff} (relative; tolerance ${tolerance})`);
    if (JSON.stringify(straight.time) !== JSON.stringify(resumed.time)) {
      problems.push(`time differs: ${JSON.stringify(resumed.time)} vs ${JSON.stringify(straight.time)}`);
    }
    if (JSON.stringify(straight.stopReason) !== JSON.stringify(resumed.stopReason)) {
      problems.push(
        `stop reason differs: ${JSON.stringify(resumed.stopReason)} vs ${JSON.stringify(straight.stopReason)}`,
      );
    }
    const decisions = [...first.decisions, ...resumed.decisions];
    if (JSON.stringify(straight.decisions) !== JSON.stringify(decisions)) {
      problems.push(
        `plugin decisions differ:\n  resumed:       ${JSON.stringify(decisions)}\n  uninterrupted: ${JSON.stringify(straight.decisions)}`,
      );
    }
    return { straight, resumed, decisions, maxWeightDiff, maxLogDiff, problems };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
