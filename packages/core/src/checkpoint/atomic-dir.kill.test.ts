/**
 * Kills a process that is writing checkpoints (SIGKILL, at random moments, many times) and checks after
 * every kill that the directory reads back as one complete, self-consistent checkpoint: the last one the
 * child reported as written, or the one it was committing when it died.
 *
 * The child is plain Node running `atomic-dir.kill-child.mjs`, which imports `atomic-dir.ts` compiled by
 * esbuild (a dependency of tsup) into a temporary directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseCheckpointJson, readCheckpointDir, writeCheckpointDir } from './atomic-dir.js';

const TIME_BUDGET_MS = 45_000;
const TARGET_KILLS = 150;
const MIN_KILLS = 100;

interface Esbuild {
  build(options: {
    entryPoints: string[];
    outfile: string;
    bundle: boolean;
    format: 'esm';
    platform: 'node';
    target: string;
    logLevel: 'error';
  }): Promise<unknown>;
}

interface ChildModule {
  checkpointFiles(n: number): Record<string, Uint8Array | string>;
}

let root: string;
let compiled: string;
let child: ChildModule;
const childScript = fileURLToPath(new URL('./atomic-dir.kill-child.mjs', import.meta.url));

function loadEsbuild(): Esbuild {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve('tsup'))('esbuild') as Esbuild;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tl-kill-'));
  compiled = join(root, 'atomic-dir.mjs');
  await loadEsbuild().build({
    entryPoints: [fileURLToPath(new URL('./atomic-dir.ts', import.meta.url))],
    outfile: compiled,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'error',
  });
  child = (await import(
    /* @vite-ignore */ new URL('./atomic-dir.kill-child.mjs', import.meta.url).href
  )) as ChildModule;
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ChildRun {
  process: ChildProcess;
  /** Lets the child (started ahead of time) write, beginning with counter `first`. */
  start(first: number): void;
  ready: Promise<void>;
  closed: Promise<void>;
  /** Counters the child reported as written, and how long each write took. */
  committed: Array<{ n: number; ms: number }>;
}

function spawnChild(dir: string): ChildRun {
  // Loading extra CA certificates costs each start tens of ms of CPU, and the child makes no requests.
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const proc = spawn(process.execPath, [childScript, compiled, dir], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env,
  });
  const committed: ChildRun['committed'] = [];
  let buffered = '';
  let stderr = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line === 'ready') onReady();
      const match = /^committed (\d+) ([\d.]+)$/.exec(line);
      if (match) committed.push({ n: Number(match[1]), ms: Number(match[2]) });
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  proc.stdin!.on('error', () => undefined);
  const closed = new Promise<void>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`child exited with ${code ?? signal} before it was killed:\n${stderr}`));
    });
  });
  // A child that dies early must not leave `ready` pending forever.
  closed.catch(() => onReady());
  return { process: proc, start: (first) => proc.stdin!.write(`${first}\n`), ready, closed, committed };
}

function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array | string): boolean {
  const want = typeof expected === 'string' ? new TextEncoder().encode(expected) : expected;
  return actual !== undefined && Buffer.from(actual).equals(want);
}

/** The counter of the checkpoint at dir, after checking every file matches that counter. */
async function readConsistentCounter(dir: string): Promise<number> {
  const files = await readCheckpointDir(dir);
  const { counter } = parseCheckpointJson(files, 'trainer.json') as { counter: number };
  const expected = child.checkpointFiles(counter);
  expect(Object.keys(files).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, content] of Object.entries(expected)) {
    if (!sameBytes(files[name], content)) throw new Error(`${name} does not belong to checkpoint ${counter}`);
  }
  return counter;
}

/** Which step of a write the kill interrupted, judged from the siblings it left. */
async function phaseOf(dirName: string): Promise<string> {
  const entries = await readdir(root);
  const target = entries.includes(dirName);
  const old = entries.includes(`.${dirName}.tl-old`);
  const temp = entries.some((e) => e.startsWith(`.${dirName}.tl-tmp-`));
  if (!target) return 'between renames';
  if (old) return 'removing old copy';
  if (temp) return 'writing files';
  return 'between writes';
}

it(
  'SIGKILL at random moments never leaves the checkpoint unreadable',
  async () => {
    const dirName = 'last';
    const dir = join(root, dirName);
    await writeCheckpointDir(dir, child.checkpointFiles(0));
    let last = 0;
    let kills = 0;
    let unreadable = 0;
    let newer = 0;
    let writeMs = 30;
    const phases: Record<string, number> = {};
    const failures: string[] = [];
    const started = Date.now();

    // Node takes ~0.1 s to start, so the next child is always started while the current one writes.
    let next = spawnChild(dir);
    while (kills < TARGET_KILLS && Date.now() - started < TIME_BUDGET_MS) {
      const run = next;
      next = spawnChild(dir);
      run.start(last + 1);
      await run.ready;
      // Uniform over two writes, so kills land in every phase of a write and between writes.
      await sleep(Math.random() * 2 * writeMs);
      run.process.kill('SIGKILL');
      await run.closed;
      kills++;

      const reported = run.committed.at(-1)?.n ?? last;
      for (const { ms } of run.committed) writeMs = 0.8 * writeMs + 0.2 * ms;
      // On a loaded machine writes are slower than the ones reported so far: stretch the window.
      if (run.committed.length === 0) writeMs = Math.min(1000, writeMs * 1.1);
      const phase = await phaseOf(dirName);
      phases[phase] = (phases[phase] ?? 0) + 1;
      try {
        const counter = await readConsistentCounter(dir);
        // The last write reported done, or the one after it if the kill came between commit and report.
        if (counter !== reported && counter !== reported + 1) {
          failures.push(`kill ${kills}: read checkpoint ${counter}, expected ${reported} or ${reported + 1}`);
        }
        if (counter === reported + 1) newer++;
        last = counter;
      } catch (error) {
        unreadable++;
        failures.push(`kill ${kills} (${phase}): ${String(error)}`);
      }
    }

    next.process.kill('SIGKILL');
    await next.closed;
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `kill test: ${kills} kills in ${seconds.toFixed(1)} s, ${unreadable} unreadable, ` +
        `${last} checkpoints written, ${newer} kills after a commit but before its report, ` +
        `mean write ${writeMs.toFixed(1)} ms, phases ${JSON.stringify(phases)}`,
    );
    expect(failures).toEqual([]);
    expect(unreadable).toBe(0);
    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
  },
  TIME_BUDGET_MS + 20_000,
);
