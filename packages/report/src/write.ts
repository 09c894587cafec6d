import { TensorloopError } from '@tensorloop/core';

// Variable specifiers: a browser bundle of this package never tries to resolve Node's modules
// (only `write()` needs them; `html()` and `history()` work anywhere).
const FS = 'node:fs/promises';
const PATH = 'node:path';

/** Write `report.html` and `history.json` into `dir` (each through a temporary file and a rename). */
export async function writeFiles(
  dir: string,
  html: string,
  json: string,
): Promise<{ html: string; json: string }> {
  let fs: typeof import('node:fs/promises');
  let path: typeof import('node:path');
  try {
    fs = await import(/* @vite-ignore */ FS);
    path = await import(/* @vite-ignore */ PATH);
  } catch (cause) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      'report: write() needs Node (file system); in a browser use report.html() and report.history().',
      { cause },
    );
  }
  const folder = path.resolve(dir);
  const files = { html: path.join(folder, 'report.html'), json: path.join(folder, 'history.json') };
  try {
    await fs.mkdir(folder, { recursive: true });
    for (const [file, text] of [
      [files.json, json],
      [files.html, html],
    ] as const) {
      const tmp = `${file}.${process.pid}.tmp`;
      await fs.writeFile(tmp, text);
      await fs.rename(tmp, file);
    }
  } catch (cause) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `report: could not write to ${folder}: ${(cause as Error)?.message ?? String(cause)}. Pass a writable folder as dir.`,
      { cause },
    );
  }
  return files;
}
