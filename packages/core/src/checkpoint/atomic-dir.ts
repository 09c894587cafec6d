/**
 * Crash-safe checkpoint directories.
 *
 * A checkpoint `dir` is written into a temporary sibling (`.<name>.tl-tmp-<pid>-<random>`), every file
 * and directory is fsynced, `manifest.json` (sizes and sha256 of every file) is written last, and the
 * sibling is renamed into place. A directory cannot be atomically replaced by another, so an existing
 * checkpoint is first renamed to `.<name>.tl-old` and removed only once the new one is in place:
 *
 *   1. remove a leftover `.tl-old`          (`dir` holds the previous checkpoint throughout)
 *   2. rename `dir` -> `.tl-old`            (only `.tl-old` holds a complete checkpoint)
 *   3. rename temporary sibling -> `dir`    (`dir` holds the new checkpoint)
 *   4. fsync the parent, remove `.tl-old`
 *
 * The reader takes `dir` when it exists and `.tl-old` when it does not (a process killed between 2 and 3),
 * so after SIGKILL at any moment a read returns the previous complete checkpoint or the new one.
 * Leftover temporary siblings of dead processes are removed by the next write.
 *
 * This module depends only on Node built-ins, loaded lazily so that the core bundle still loads in a
 * browser, and on `../errors.js`.
 */
import { TensorloopError } from '../errors.js';
import { assertRealPathInside, fileSize } from './untrusted-paths.js';

export const CHECKPOINT_MANIFEST = 'manifest.json';
export const CHECKPOINT_FORMAT = 'tensorloop-checkpoint';
/** The newest manifest format this version reads and the one it writes. */
export const CHECKPOINT_FORMAT_VERSION = 1;

export interface CheckpointFileEntry {
  bytes: number;
  sha256: string;
}

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: number;
  /** ISO 8601 time of the write. */
  createdAt: string;
  /** Every file of the checkpoint except the manifest, by `/`-separated relative name. */
  files: Record<string, CheckpointFileEntry>;
}

export interface WriteCheckpointOptions {
  /**
   * An existing directory that is a checkpoint (it has a manifest) or is empty is replaced. When this is
   * given, the existing directory is replaced only if every file in it, apart from the manifest, has one of
   * these names; anything else is refused with `TL_CHECKPOINT_INVALID` rather than deleted.
   */
  onlyReplace?: readonly string[];
}

type Fs = typeof import('node:fs/promises');
type Path = typeof import('node:path');
type Crypto = typeof import('node:crypto');

export interface NodeBuiltins {
  fs: Fs;
  path: Path;
  crypto: Crypto;
}

let builtins: Promise<NodeBuiltins> | undefined;

function importBuiltin<T>(specifier: string): Promise<T> {
  // A computed specifier keeps browser bundlers from trying to resolve Node built-ins.
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<T>;
}

/** Node's fs, path and crypto, imported on first use. @internal */
export async function loadNodeBuiltins(): Promise<NodeBuiltins> {
  builtins ??= Promise.all([
    importBuiltin<Fs>('node:fs/promises'),
    importBuiltin<Path>('node:path'),
    importBuiltin<Crypto>('node:crypto'),
  ]).then(([fs, path, crypto]) => ({ fs, path, crypto }));
  try {
    return await builtins;
  } catch (cause) {
    builtins = undefined;
    throw new TensorloopError(
      'TL_CHECKPOINT_IO',
      'file-system checkpoints need Node.js (node:fs could not be loaded); in a browser, save with ' +
        "tf.io.withSaveHandler or an 'indexeddb://' URL instead",
      { cause },
    );
  }
}

function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

function ioError(action: string, path: string, cause: unknown): TensorloopError {
  if (cause instanceof TensorloopError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new TensorloopError(
    'TL_CHECKPOINT_IO',
    `could not ${action} ${path}: ${reason}; check that the path exists, is writable and the disk has space`,
    { cause },
  );
}

function corrupt(path: string, message: string): TensorloopError {
  return new TensorloopError(
    'TL_CHECKPOINT_CORRUPT',
    `checkpoint file ${path} ${message}; the checkpoint was damaged or modified after it was written, ` +
      'load an earlier checkpoint',
  );
}

/** Runs `fn` on the path, mapping file-system errors to `TL_CHECKPOINT_IO`. */
async function io<T>(action: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw ioError(action, path, error);
  }
}

async function exists(fs: Fs, path: string): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw ioError('inspect', path, error);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Names and siblings

const SEGMENT = /^[^/\\\0]+$/;

function isValidFileName(name: string): boolean {
  const segments = name.split('/');
  return segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..' && !/^[A-Za-z]:$/.test(s));
}

/** Checkpoint file names: relative, `/`-separated, not the manifest's (directories and browser records alike). */
export function assertValidFileNames(names: readonly string[]): void {
  for (const name of names) {
    if (!isValidFileName(name)) {
      throw new TensorloopError(
        'TL_CHECKPOINT_INVALID',
        `invalid checkpoint file name ${JSON.stringify(name)}: expected a relative name made of ` +
          "'/'-separated parts without '.', '..' or backslashes, such as 'model.json' or 'plugins/ema.json'",
      );
    }
    if (name === CHECKPOINT_MANIFEST) {
      throw new TensorloopError(
        'TL_CHECKPOINT_INVALID',
        `'${CHECKPOINT_MANIFEST}' is written by the checkpoint itself; store your data under another name`,
      );
    }
  }
}

interface Siblings {
  target: string;
  parent: string;
  base: string;
  old: string;
  tmpPrefix: string;
}

function siblingsOf(path: Path, dir: string): Siblings {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const base = path.basename(target);
  return {
    target,
    parent,
    base,
    old: path.join(parent, `.${base}.tl-old`),
    tmpPrefix: `.${base}.tl-tmp-`,
  };
}

/** Temporary siblings this process is writing right now; they are never treated as leftovers. */
const activeTemps = new Set<string>();

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

async function removeLeftoverTemps(node: NodeBuiltins, s: Siblings): Promise<void> {
  const { fs, path } = node;
  const entries = await io('list', s.parent, () => fs.readdir(s.parent));
  for (const entry of entries) {
    if (!entry.startsWith(s.tmpPrefix)) continue;
    const match = /^(\d+)-[0-9a-f]{12}$/.exec(entry.slice(s.tmpPrefix.length));
    if (match === null) continue; // the sibling of another directory whose name extends ours
    const full = path.join(s.parent, entry);
    const pid = Number(match[1]);
    if (activeTemps.has(full) || (pid !== process.pid && isProcessAlive(pid))) continue;
    await io('remove leftover', full, () => fs.rm(full, { recursive: true, force: true }));
  }
}

function temporarySibling(node: NodeBuiltins, s: Siblings): string {
  return node.path.join(
    s.parent,
    `${s.tmpPrefix}${process.pid}-${node.crypto.randomBytes(6).toString('hex')}`,
  );
}

/** Serialises writes and removals of one directory within this process. */
const queues = new Map<string, Promise<unknown>>();

async function exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, settled);
  try {
    return await run;
  } finally {
    if (queues.get(key) === settled) queues.delete(key);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Writing

function toBytes(content: Uint8Array | string): Uint8Array {
  return typeof content === 'string' ? new TextEncoder().encode(content) : content;
}

async function writeDurably(fs: Fs, file: string, bytes: Uint8Array): Promise<void> {
  await io('write', file, async () => {
    const handle = await fs.open(file, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

async function fsyncDirectory(fs: Fs, dir: string): Promise<void> {
  let handle: Awaited<ReturnType<Fs['open']>> | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Some platforms (Windows) and file systems cannot open or fsync a directory; the files are synced.
    const code = errnoCode(error);
    if (!['EISDIR', 'EPERM', 'EINVAL', 'EBADF', 'EACCES', 'ENOTSUP'].includes(code ?? '')) {
      throw ioError('sync', dir, error);
    }
  } finally {
    await handle?.close();
  }
}

async function assertReplaceable(
  node: NodeBuiltins,
  target: string,
  options: WriteCheckpointOptions,
): Promise<void> {
  const { fs, path } = node;
  let entries: string[];
  try {
    entries = await fs.readdir(target);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') {
      throw new TensorloopError(
        'TL_CHECKPOINT_INVALID',
        `${target} is a file; a checkpoint is a directory, so choose a path that is a directory or does not exist`,
      );
    }
    throw ioError('list', target, error);
  }
  const isCheckpoint = entries.includes(CHECKPOINT_MANIFEST);
  const others = entries.filter((e) => e !== CHECKPOINT_MANIFEST);
  const allowed = options.onlyReplace;
  const foreign =
    allowed === undefined ? (isCheckpoint ? [] : others) : others.filter((e) => !allowed.includes(e));
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? ', ...' : '');
    const expected =
      allowed === undefined
        ? 'an empty directory or an earlier checkpoint'
        : `a directory holding only ${allowed.join(', ')}`;
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `refusing to replace ${path.resolve(target)}: expected ${expected}, but it also holds ${shown}; ` +
        'save into a new or empty directory',
    );
  }
}

async function writeTemporary(
  node: NodeBuiltins,
  tmp: string,
  entries: ReadonlyArray<readonly [string, Uint8Array]>,
): Promise<void> {
  const { fs, path, crypto } = node;
  await io('create', tmp, () => fs.mkdir(tmp));
  const subdirs = new Set<string>();
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    files: {},
  };
  for (const [name, bytes] of entries) {
    const file = path.join(tmp, ...name.split('/'));
    const dir = path.dirname(file);
    if (dir !== tmp && !subdirs.has(dir)) {
      await io('create', dir, () => fs.mkdir(dir, { recursive: true }));
      subdirs.add(dir);
    }
    await writeDurably(fs, file, bytes);
    manifest.files[name] = {
      bytes: bytes.byteLength,
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    };
  }
  // Deepest first, so that each directory entry is durable before its parent's.
  for (const dir of [...subdirs].sort((a, b) => b.length - a.length)) await fsyncDirectory(fs, dir);
  await writeDurably(
    fs,
    path.join(tmp, CHECKPOINT_MANIFEST),
    toBytes(`${JSON.stringify(manifest, null, 2)}\n`),
  );
  await fsyncDirectory(fs, tmp);
}

async function commit(node: NodeBuiltins, s: Siblings, tmp: string): Promise<void> {
  const { fs } = node;
  if (await exists(fs, s.target)) {
    await io('remove', s.old, () => fs.rm(s.old, { recursive: true, force: true }));
    await io('move aside', s.target, () => fs.rename(s.target, s.old));
  }
  // When `target` was missing, `.tl-old` (if any) is the last complete checkpoint and is kept until here.
  await io('move into place', s.target, () => fs.rename(tmp, s.target));
  await fsyncDirectory(fs, s.parent);
  await io('remove', s.old, () => fs.rm(s.old, { recursive: true, force: true }));
}

/**
 * Writes `files` as the checkpoint directory `dir`, replacing an earlier checkpoint there. After a crash
 * at any moment `readCheckpointDir(dir)` returns either the earlier checkpoint or this one.
 *
 * @param files contents by `/`-separated relative name (strings are written as UTF-8)
 * @throws TensorloopError `TL_CHECKPOINT_INVALID` for a bad file name or a directory that is not a
 *   checkpoint, `TL_CHECKPOINT_IO` when the file system fails
 */
export async function writeCheckpointDir(
  dir: string,
  files: Readonly<Record<string, Uint8Array | string>>,
  options: WriteCheckpointOptions = {},
): Promise<void> {
  const names = Object.keys(files).sort();
  assertValidFileNames(names);
  const entries = names.map((name) => [name, toBytes(files[name]!)] as const);
  const node = await loadNodeBuiltins();
  const s = siblingsOf(node.path, dir);
  await exclusive(s.target, async () => {
    await io('create', s.parent, () => node.fs.mkdir(s.parent, { recursive: true }));
    await assertReplaceable(node, s.target, options);
    await removeLeftoverTemps(node, s);
    const tmp = temporarySibling(node, s);
    activeTemps.add(tmp);
    try {
      await writeTemporary(node, tmp, entries);
      await commit(node, s, tmp);
    } catch (error) {
      await node.fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw ioError('write checkpoint', s.target, error);
    } finally {
      activeTemps.delete(tmp);
    }
  });
}

/**
 * Removes the checkpoint directory `dir` (and its leftovers). A crash part-way leaves either the
 * checkpoint or nothing at `dir`, never a partly deleted checkpoint.
 */
export async function removeCheckpointDir(dir: string): Promise<void> {
  const node = await loadNodeBuiltins();
  const { fs } = node;
  const s = siblingsOf(node.path, dir);
  await exclusive(s.target, async () => {
    // `.tl-old` first: while `target` is missing, it is what readers return.
    for (const path of [s.old, s.target]) {
      if (!(await exists(fs, path))) continue;
      const doomed = temporarySibling(node, s);
      await io('remove', path, () => fs.rename(path, doomed));
      await io('remove', doomed, () => fs.rm(doomed, { recursive: true, force: true }));
    }
    await removeLeftoverTemps(node, s).catch(() => undefined);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Reading

/** A committed checkpoint: the directory holding it and its parsed manifest. */
interface Committed {
  source: string;
  manifest: CheckpointManifest;
}

/** `dir` if it exists, otherwise `.tl-old` (a write was interrupted while swapping), otherwise undefined. */
async function committedDirectory(node: NodeBuiltins, dir: string): Promise<string | undefined> {
  const s = siblingsOf(node.path, dir);
  if (await exists(node.fs, s.target)) return s.target;
  if (await exists(node.fs, s.old)) return s.old;
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses and checks a manifest read from `file` (also the browser stores' manifests). @internal */
export function parseManifest(file: string, bytes: Uint8Array): CheckpointManifest {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw corrupt(file, `is not valid JSON (${bytes.byteLength} bytes; truncated?)`);
  }
  if (!isRecord(value) || value.format !== CHECKPOINT_FORMAT) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `${file} is not a tensorloop checkpoint manifest: expected "format": "${CHECKPOINT_FORMAT}"`,
    );
  }
  const { formatVersion, files } = value;
  if (typeof formatVersion !== 'number' || !Number.isInteger(formatVersion) || formatVersion < 1) {
    throw corrupt(file, `has formatVersion ${JSON.stringify(formatVersion)}, expected a positive integer`);
  }
  if (formatVersion > CHECKPOINT_FORMAT_VERSION) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `${file} has checkpoint format version ${formatVersion}, but this version of @tensorloop/core reads ` +
        `versions up to ${CHECKPOINT_FORMAT_VERSION}; upgrade @tensorloop/core to load it`,
    );
  }
  if (!isRecord(files)) throw corrupt(file, 'has no "files" object');
  for (const [name, entry] of Object.entries(files)) {
    const valid =
      isValidFileName(name) &&
      name !== CHECKPOINT_MANIFEST &&
      isRecord(entry) &&
      typeof entry.bytes === 'number' &&
      Number.isInteger(entry.bytes) &&
      entry.bytes >= 0 &&
      typeof entry.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(entry.sha256);
    if (!valid) throw corrupt(file, `has an invalid entry for ${JSON.stringify(name)}`);
  }
  return {
    format: CHECKPOINT_FORMAT,
    formatVersion,
    createdAt: typeof value.createdAt === 'string' ? value.createdAt : '',
    files: files as Record<string, CheckpointFileEntry>,
  };
}

async function readFileOrCorrupt(fs: Fs, file: string, missing: string): Promise<Uint8Array> {
  try {
    const buffer = await fs.readFile(file);
    // A plain view of the same memory: callers get a Uint8Array, not a Node Buffer.
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') throw corrupt(file, `is missing: ${missing}`);
    if (code === 'EISDIR') throw corrupt(file, `is a directory: ${missing}`);
    throw ioError('read', file, error);
  }
}

async function openCommitted(node: NodeBuiltins, dir: string): Promise<Committed> {
  const source = await committedDirectory(node, dir);
  if (source === undefined) {
    throw new TensorloopError(
      'TL_CHECKPOINT_IO',
      `no checkpoint at ${node.path.resolve(dir)}: the directory does not exist; check the path`,
    );
  }
  const file = node.path.join(source, CHECKPOINT_MANIFEST);
  let bytes: Uint8Array;
  try {
    bytes = await node.fs.readFile(file);
  } catch (error) {
    if (errnoCode(error) === 'ENOTDIR') {
      throw new TensorloopError(
        'TL_CHECKPOINT_INVALID',
        `${source} is a file; expected a checkpoint directory`,
      );
    }
    if (errnoCode(error) !== 'ENOENT') throw ioError('read', file, error);
    throw corrupt(
      file,
      'is missing: a checkpoint directory ends with its manifest, so the write did not finish or ' +
        'the directory was not written by tensorloop',
    );
  }
  return { source, manifest: parseManifest(file, bytes) };
}

async function readVerified(node: NodeBuiltins, committed: Committed, name: string): Promise<Uint8Array> {
  const entry = committed.manifest.files[name];
  const file = node.path.join(committed.source, ...name.split('/'));
  if (entry === undefined) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `checkpoint ${committed.source} has no file ${JSON.stringify(name)}; it has ` +
        `${Object.keys(committed.manifest.files).join(', ') || 'no files'}`,
    );
  }
  const expected = `expected ${entry.bytes} bytes with sha256 ${entry.sha256}`;
  // Untrusted directory: no symlink out of it, and no read of a file larger than the manifest says.
  await assertRealPathInside(node, committed.source, file, `checkpoint ${committed.source}`);
  const size = await fileSize(node, file);
  if (size !== undefined && size !== entry.bytes) {
    const how = size < entry.bytes ? 'is truncated' : 'has the wrong size';
    throw corrupt(file, `${how}: expected ${entry.bytes} bytes, found ${size}`);
  }
  const bytes = await readFileOrCorrupt(node.fs, file, expected);
  if (bytes.byteLength !== entry.bytes) {
    const how = bytes.byteLength < entry.bytes ? 'is truncated' : 'has the wrong size';
    throw corrupt(file, `${how}: expected ${entry.bytes} bytes, found ${bytes.byteLength}`);
  }
  const actual = node.crypto.createHash('sha256').update(bytes).digest('hex');
  if (actual !== entry.sha256) {
    throw corrupt(file, `does not match its checksum: expected sha256 ${entry.sha256}, found ${actual}`);
  }
  return bytes;
}

/** Reads and checks the manifest of the checkpoint at `dir` (recovering an interrupted overwrite). */
export async function readCheckpointManifest(dir: string): Promise<CheckpointManifest> {
  const node = await loadNodeBuiltins();
  return (await openCommitted(node, dir)).manifest;
}

/**
 * Reads every file of the checkpoint at `dir`, verifying sizes and checksums against its manifest.
 *
 * @returns contents by relative name (the manifest itself is not included)
 * @throws TensorloopError `TL_CHECKPOINT_CORRUPT` naming the file that is missing, truncated or altered,
 *   `TL_CHECKPOINT_INVALID` for a manifest of a newer format, `TL_CHECKPOINT_IO` when `dir` does not exist
 *   or the file system fails
 */
export async function readCheckpointDir(dir: string): Promise<Record<string, Uint8Array>> {
  const node = await loadNodeBuiltins();
  const committed = await openCommitted(node, dir);
  const out: Record<string, Uint8Array> = {};
  for (const name of Object.keys(committed.manifest.files).sort()) {
    out[name] = await readVerified(node, committed, name);
  }
  return out;
}

/** Reads the named files of the checkpoint at `dir`, each verified against the manifest. */
export async function readCheckpointFiles(
  dir: string,
  names: readonly string[],
): Promise<Record<string, Uint8Array>> {
  const node = await loadNodeBuiltins();
  const committed = await openCommitted(node, dir);
  const out: Record<string, Uint8Array> = {};
  for (const name of names) out[name] = await readVerified(node, committed, name);
  return out;
}

/** Parses the JSON file `name` from files read by `readCheckpointDir`. */
export function parseCheckpointJson(files: Readonly<Record<string, Uint8Array>>, name: string): unknown {
  const bytes = files[name];
  if (bytes === undefined) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `checkpoint has no file ${JSON.stringify(name)}; it has ${Object.keys(files).join(', ') || 'no files'}`,
    );
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new TensorloopError(
      'TL_CHECKPOINT_CORRUPT',
      `checkpoint file ${name} is not valid JSON; expected the JSON document that was saved`,
      { cause },
    );
  }
}

/** Reads, verifies and parses one JSON file of the checkpoint at `dir`. */
export async function readCheckpointJson(dir: string, name: string): Promise<unknown> {
  return parseCheckpointJson(await readCheckpointFiles(dir, [name]), name);
}

/** Whether `dir` holds a checkpoint with a manifest (contents are not verified). */
export async function checkpointExists(dir: string): Promise<boolean> {
  const node = await loadNodeBuiltins();
  const source = await committedDirectory(node, dir);
  return source !== undefined && (await exists(node.fs, node.path.join(source, CHECKPOINT_MANIFEST)));
}

/**
 * The directory that currently holds the checkpoint `dir`: `dir` itself, or its `.tl-old` sibling after an
 * interrupted overwrite; undefined when there is neither. For readers of files not listed in a manifest.
 */
export async function resolveCheckpointDir(dir: string): Promise<string | undefined> {
  return committedDirectory(await loadNodeBuiltins(), dir);
}
