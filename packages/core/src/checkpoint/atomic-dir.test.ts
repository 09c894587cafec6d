import { mkdir, mkdtemp, readdir, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTensorloopError, type TensorloopErrorCode } from '../errors.js';
import {
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointManifest,
  checkpointExists,
  parseCheckpointJson,
  readCheckpointDir,
  readCheckpointJson,
  readCheckpointManifest,
  removeCheckpointDir,
  writeCheckpointDir,
} from './atomic-dir.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tl-atomic-dir-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

function bytesOf(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

function checkpoint(n: number): Record<string, Uint8Array | string> {
  return {
    'weights.bin': bytesOf(1000 + n, n),
    'trainer.json': JSON.stringify({ n }),
    'plugins/ema.json': JSON.stringify({ decay: n / 10 }),
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}

async function expectCode(promise: Promise<unknown>, code: TensorloopErrorCode, ...fragments: string[]) {
  const error = await rejection(promise);
  expect(isTensorloopError(error, code), `${code} expected, got ${String(error)}`).toBe(true);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}

async function readN(dir: string): Promise<number> {
  const files = await readCheckpointDir(dir);
  return (parseCheckpointJson(files, 'trainer.json') as { n: number }).n;
}

describe('writeCheckpointDir / readCheckpointDir', () => {
  it('round-trips binary, string and nested files and leaves no siblings behind', async () => {
    const dir = join(root, 'ckpt');
    await writeCheckpointDir(dir, checkpoint(1));
    const files = await readCheckpointDir(dir);
    expect(Object.keys(files).sort()).toEqual(['plugins/ema.json', 'trainer.json', 'weights.bin']);
    expect(files['weights.bin']).toEqual(bytesOf(1001, 1));
    expect(text(files['trainer.json'])).toBe('{"n":1}');
    expect(await readCheckpointJson(dir, 'plugins/ema.json')).toEqual({ decay: 0.1 });
    expect(await readdir(root)).toEqual(['ckpt']);
  });

  it('writes a manifest with the format version, byte size and sha256 of every file', async () => {
    const dir = join(root, 'ckpt');
    await writeCheckpointDir(dir, { 'a.txt': 'abc' });
    const manifest: CheckpointManifest = await readCheckpointManifest(dir);
    expect(manifest.formatVersion).toBe(CHECKPOINT_FORMAT_VERSION);
    // sha256('abc')
    expect(manifest.files).toEqual({
      'a.txt': { bytes: 3, sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
    });
  });

  it('replaces an earlier checkpoint in the same directory and removes the old copy', async () => {
    const dir = join(root, 'last');
    await writeCheckpointDir(dir, checkpoint(1));
    await writeCheckpointDir(dir, { 'trainer.json': JSON.stringify({ n: 2 }) });
    expect(Object.keys(await readCheckpointDir(dir))).toEqual(['trainer.json']);
    expect(await readN(dir)).toBe(2);
    expect(await readdir(root)).toEqual(['last']);
  });

  it('serialises concurrent writes to one directory within a process', async () => {
    const dir = join(root, 'last');
    await Promise.all([1, 2, 3, 4].map((n) => writeCheckpointDir(dir, checkpoint(n))));
    expect(await readN(dir)).toBe(4);
    expect(await readdir(root)).toEqual(['last']);
  });

  it('accepts an empty existing directory, refuses one holding other data and leaves it untouched', async () => {
    const empty = join(root, 'empty');
    await mkdir(empty);
    await writeCheckpointDir(empty, checkpoint(1));
    expect(await readN(empty)).toBe(1);

    const project = join(root, 'project');
    await mkdir(project);
    await writeFile(join(project, 'notes.txt'), 'mine');
    await expectCode(
      writeCheckpointDir(project, checkpoint(1)),
      'TL_CHECKPOINT_INVALID',
      'notes.txt',
      project,
    );
    expect(await readdir(project)).toEqual(['notes.txt']);
    expect((await readdir(root)).sort()).toEqual(['empty', 'project']);
  });

  it('onlyReplace limits which files an existing directory may hold', async () => {
    const dir = join(root, 'model');
    await mkdir(dir);
    await writeFile(join(dir, 'model.json'), '{}');
    await writeCheckpointDir(dir, { 'model.json': '{"v":2}' }, { onlyReplace: ['model.json'] });
    await expectCode(
      writeCheckpointDir(dir, { 'x.json': '{}' }, { onlyReplace: ['x.json'] }),
      'TL_CHECKPOINT_INVALID',
      'model.json',
    );
    expect(await readCheckpointJson(dir, 'model.json')).toEqual({ v: 2 });
  });

  it.each([
    '../escape.bin',
    '/abs.bin',
    'a//b',
    './a',
    'a\\b',
    '',
    'manifest.json',
  ])('refuses the file name %j with TL_CHECKPOINT_INVALID', async (name) => {
    await expectCode(writeCheckpointDir(join(root, 'c'), { [name]: 'x' }), 'TL_CHECKPOINT_INVALID');
    expect(await readdir(root)).toEqual([]);
  });

  it('turns file-system failures into TL_CHECKPOINT_IO naming the path', async () => {
    await writeFile(join(root, 'file'), 'not a directory');
    const dir = join(root, 'file', 'ckpt');
    await expectCode(writeCheckpointDir(dir, checkpoint(1)), 'TL_CHECKPOINT_IO', join(root, 'file'));
    await expectCode(readCheckpointDir(join(root, 'nothing')), 'TL_CHECKPOINT_IO', join(root, 'nothing'));
  });

  it('removeCheckpointDir deletes the checkpoint and its leftovers', async () => {
    const dir = join(root, 'epoch-1');
    await writeCheckpointDir(dir, checkpoint(1));
    await removeCheckpointDir(dir);
    expect(await checkpointExists(dir)).toBe(false);
    expect(await readdir(root)).toEqual([]);
  });
});

describe('corrupt checkpoints', () => {
  let dir: string;
  let previous: string;

  beforeEach(async () => {
    previous = join(root, 'epoch-1');
    dir = join(root, 'epoch-2');
    await writeCheckpointDir(previous, checkpoint(1));
    await writeCheckpointDir(dir, checkpoint(2));
  });

  afterEach(async () => {
    // Whatever happened to the newer checkpoint, the earlier one still loads.
    expect(await readN(previous)).toBe(1);
  });

  it('refuses a truncated file, naming it and the expected size', async () => {
    await truncate(join(dir, 'weights.bin'), 500);
    await expectCode(
      readCheckpointDir(dir),
      'TL_CHECKPOINT_CORRUPT',
      join(dir, 'weights.bin'),
      'truncated',
      'expected 1002 bytes, found 500',
    );
  });

  it('refuses a file altered without changing its size, naming the expected checksum', async () => {
    const file = join(dir, 'weights.bin');
    const bytes = await readFile(file);
    bytes[10] = (bytes[10]! + 1) & 0xff;
    await writeFile(file, bytes);
    const { files } = await readCheckpointManifest(dir);
    await expectCode(readCheckpointDir(dir), 'TL_CHECKPOINT_CORRUPT', file, files['weights.bin']!.sha256);
  });

  it('refuses a missing file', async () => {
    await rm(join(dir, 'plugins', 'ema.json'));
    await expectCode(
      readCheckpointDir(dir),
      'TL_CHECKPOINT_CORRUPT',
      join(dir, 'plugins', 'ema.json'),
      'missing',
    );
  });

  it('refuses a directory without its manifest (a write that never finished)', async () => {
    await rm(join(dir, 'manifest.json'));
    await expectCode(readCheckpointDir(dir), 'TL_CHECKPOINT_CORRUPT', 'manifest.json', 'did not finish');
    expect(await checkpointExists(dir)).toBe(false);
  });

  it('refuses a truncated manifest', async () => {
    await truncate(join(dir, 'manifest.json'), 40);
    await expectCode(readCheckpointDir(dir), 'TL_CHECKPOINT_CORRUPT', 'manifest.json', 'not valid JSON');
  });

  it('refuses a JSON file that is not JSON when parsed', async () => {
    const files = await readCheckpointDir(dir);
    files['trainer.json'] = new TextEncoder().encode('{"n":');
    expect(() => parseCheckpointJson(files, 'trainer.json')).toThrow(/TL_CHECKPOINT_CORRUPT.*trainer\.json/);
  });

  it('refuses a manifest of a newer format with TL_CHECKPOINT_INVALID', async () => {
    const file = join(dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(file, 'utf8')) as CheckpointManifest;
    await writeFile(file, JSON.stringify({ ...manifest, formatVersion: CHECKPOINT_FORMAT_VERSION + 1 }));
    await expectCode(readCheckpointDir(dir), 'TL_CHECKPOINT_INVALID', 'upgrade');
  });

  it('a corrupt checkpoint can be overwritten by a good one', async () => {
    await truncate(join(dir, 'weights.bin'), 1);
    await writeCheckpointDir(dir, checkpoint(3));
    expect(await readN(dir)).toBe(3);
  });
});

/**
 * The states a write passes through, reproduced by hand: the kill test hits the long phases (writing
 * files) at random, these cover the short windows between the renames deterministically.
 */
describe('recovery from an interrupted overwrite', () => {
  let dir: string;
  const old = () => join(root, '.last.tl-old');
  // A pid that cannot belong to a live process (above the Linux maximum of 2^22).
  const deadTemp = () => join(root, '.last.tl-tmp-99999999-abcdef012345');

  beforeEach(async () => {
    dir = join(root, 'last');
    await writeCheckpointDir(dir, checkpoint(1));
  });

  it('killed while writing files: reads the previous checkpoint; the next write removes the leftover', async () => {
    await mkdir(deadTemp());
    await writeFile(join(deadTemp(), 'weights.bin'), bytesOf(10, 2));
    expect(await readN(dir)).toBe(1);
    await writeCheckpointDir(dir, checkpoint(3));
    expect(await readN(dir)).toBe(3);
    expect(await readdir(root)).toEqual(['last']);
  });

  it('killed after moving the previous checkpoint aside: reads it from .tl-old, then writes over it', async () => {
    await writeCheckpointDir(join(root, 'staged'), checkpoint(2));
    await rename(join(root, 'staged'), deadTemp());
    await rename(dir, old());
    expect(await checkpointExists(dir)).toBe(true);
    expect(await readN(dir)).toBe(1);
    await writeCheckpointDir(dir, checkpoint(3));
    expect(await readN(dir)).toBe(3);
    expect(await readdir(root)).toEqual(['last']);
  });

  it('killed after a new write moved the previous one aside again: .tl-old is kept until replaced', async () => {
    await rename(dir, old());
    // The next write finds no `last` and must not delete `.tl-old`, the only complete checkpoint, early.
    await writeCheckpointDir(dir, checkpoint(2));
    expect(await readN(dir)).toBe(2);
    expect(await readdir(root)).toEqual(['last']);
  });

  it('killed while removing .tl-old: reads the new checkpoint', async () => {
    await writeCheckpointDir(join(root, 'staged'), checkpoint(0));
    await rename(join(root, 'staged'), old());
    await rm(join(old(), 'manifest.json'));
    expect(await readN(dir)).toBe(1);
    await writeCheckpointDir(dir, checkpoint(2));
    expect(await readN(dir)).toBe(2);
    expect(await readdir(root)).toEqual(['last']);
  });

  it('does not remove the temporary directory of a live process', async () => {
    const live = join(root, `.last.tl-tmp-${process.ppid}-abcdef012345`);
    await mkdir(live);
    await writeCheckpointDir(dir, checkpoint(2));
    expect((await readdir(root)).sort()).toEqual([`.last.tl-tmp-${process.ppid}-abcdef012345`, 'last']);
  });
});

describe('browser safety', () => {
  it('loads Node built-ins lazily: no static node: imports in the checkpoint sources', async () => {
    for (const file of ['atomic-dir.ts', 'file-handler.ts']) {
      const source = await readFile(new URL(file, import.meta.url), 'utf8');
      expect(source, file).not.toMatch(/^\s*import\s[^;]*from\s+['"](node:)?(fs|path|crypto|os)/m);
      expect(source, file).not.toMatch(/^\s*import\s+['"]node:/m);
    }
  });
});
