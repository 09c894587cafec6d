// Run one part of a benchmark in its own Node process and get its JSON back.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Arguments of the form --key=value as an object. */
export function parseArgs(argv = process.argv.slice(2)) {
  const args = {};
  for (const a of argv) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (m) args[m[1]] = m[2] ?? true;
  }
  return args;
}

/**
 * `node --expose-gc <script> ...args --out=<tmp file>`; resolves to `{ ok, data, code }` where
 * `data` is what the child wrote to its --out file. Its stdout/stderr are passed through.
 */
export function runChild(script, args) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tl-bench-'));
  const out = path.join(dir, 'out.json');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', script, ...args, `--out=${out}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('exit', (code, signal) => {
      let data;
      try {
        data = JSON.parse(readFileSync(out, 'utf8'));
      } catch {
        data = undefined;
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ ok: code === 0 && data !== undefined, data, code: code ?? signal });
    });
  });
}
