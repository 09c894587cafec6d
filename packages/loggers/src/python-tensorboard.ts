// Test support: TensorBoard's own Python reader, in a virtualenv cached outside the repository
// ($XDG_CACHE_HOME or ~/.cache, then tensorloop/tensorboard-venv), made once and reused.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const venvDir = join(
  process.env.XDG_CACHE_HOME || join(homedir(), '.cache'),
  'tensorloop',
  'tensorboard-venv',
);
const pythonIn = (venv: string) =>
  join(venv, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');

async function works(python: string): Promise<boolean> {
  if (!existsSync(python)) return false;
  try {
    await run(python, ['-c', 'import tensorboard.backend.event_processing.event_accumulator'], {
      timeout: 120_000,
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * The venv's python with `tensorboard` importable: reused when it works, else made (in a sibling
 * folder, renamed into place, so two test runs never share a half-made one). Throws with the
 * reason when it cannot be made (no python3, no venv module, pip cannot reach a package index).
 */
export async function tensorboardPython(): Promise<string> {
  if (await works(pythonIn(venvDir))) return pythonIn(venvDir);
  const building = `${venvDir}.tmp-${process.pid}`;
  await mkdir(join(venvDir, '..'), { recursive: true });
  await rm(building, { recursive: true, force: true });
  try {
    await run('python3', ['-m', 'venv', building], { timeout: 120_000 });
    await run(
      pythonIn(building),
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '1', 'tensorboard'],
      { timeout: 480_000 },
    );
    await rm(venvDir, { recursive: true, force: true });
    await rename(building, venvDir);
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    if (await works(pythonIn(venvDir))) return pythonIn(venvDir); // another run made it meanwhile
    const e = error as { message?: string; stderr?: string };
    throw new Error(
      `could not make a virtualenv with tensorboard in ${venvDir}: ${e.stderr?.trim() || e.message}`,
    );
  }
  if (!(await works(pythonIn(venvDir)))) throw new Error(`tensorboard does not import in ${venvDir}`);
  return pythonIn(venvDir);
}

const SCRIPT = fileURLToPath(new URL('./read-tensorboard.py', import.meta.url));

export interface TensorBoardDump {
  [run: string]: {
    scalars: Record<string, [number, number][]>;
    histograms: Record<string, [number, number, number, number, number, number][]>;
    text: Record<string, [number, string][]>;
    other_tensors?: Record<string, unknown>;
    other_tags: Record<string, unknown>;
  };
}

/** What EventAccumulator reads from each run folder of `logDir`. */
export async function readWithTensorBoard(python: string, logDir: string): Promise<TensorBoardDump> {
  const { stdout } = await run(python, [SCRIPT, logDir], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as TensorBoardDump;
}
