// Writing bench/results/<name>.json and <name>.md, and small formatting helpers.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = fileURLToPath(new URL('../../', import.meta.url));
export const repoRoot = path.resolve(benchDir, '..');

/** Where results go: bench/results, or $TL_BENCH_RESULTS. */
export function resultsDir() {
  return process.env.TL_BENCH_RESULTS ?? path.join(benchDir, 'results');
}

/** Replace this machine's paths in text that ends up in results (error messages, stacks). */
export function scrub(text) {
  return String(text)
    .split(repoRoot)
    .join('.')
    .split(os.tmpdir())
    .join('$TMPDIR')
    .split(os.homedir())
    .join('~');
}

/**
 * The command that produced the results, as typed from the repository root, with the TL_BENCH_*
 * environment overrides that were set.
 */
export function commandLine(args = process.argv.slice(2)) {
  const script = path.relative(repoRoot, process.argv[1]).split(path.sep).join('/');
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('TL_BENCH_') && k !== 'TL_BENCH_RESULTS')
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  const flags = process.execArgv.length ? `${process.execArgv.join(' ')} ` : '';
  return `${env}node ${flags}${script}${args.length ? ` ${args.join(' ')}` : ''}`;
}

/** Integer from the environment, or the default. */
export function envInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return value;
}

/** A number with `digits` significant digits, as text (no exponent for the ranges we print). */
export function sig(value, digits = 3) {
  if (value === undefined || value === null || Number.isNaN(value)) return '—';
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return value.toFixed(decimals);
}

export function ratioText(value) {
  return value === undefined || Number.isNaN(value) ? '—' : `${value.toFixed(3)}×`;
}

/** A markdown table; `align` is a string of 'l'/'r' per column. */
export function mdTable(headers, rows, align = '') {
  const sep = headers.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  const line = (cells) => `| ${cells.map((c) => String(c).replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(headers), `| ${sep.join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** Write `<name>.json` (data) and `<name>.md` (markdown) into the results directory. */
export async function writeResults(name, data, markdown) {
  const dir = resultsDir();
  await mkdir(dir, { recursive: true });
  const json = scrub(JSON.stringify(data, null, 2));
  await writeFile(path.join(dir, `${name}.json`), `${json}\n`);
  await writeFile(path.join(dir, `${name}.md`), `${scrub(markdown).trimEnd()}\n`);
  return { json: `${name}.json`, md: `${name}.md` };
}
