/**
 * Checkpoints in the Origin Private File System (`opfs://<name>`), where the browser has one
 * (`navigator.storage.getDirectory`, with writable files).
 *
 * Layout under the OPFS root: `tensorloop-checkpoints/<encoded name>/` holds record folders
 * `r-<id>/` (one file per checkpoint file, names encoded) and `head.json` (the current record and its
 * manifest). A save writes a new record folder completely, then replaces `head.json`: a writable file
 * stream writes to a swap file and replaces the file on `close()` in one step, so `head.json` names
 * the previous record or the new one, never a partial one. Older records are removed afterwards.
 */
import { TensorloopError } from '../errors.js';
import type { CheckpointManifest } from './atomic-dir.js';
import { type CheckpointStore, type SavedCheckpoint, savedOf } from './browser-store.js';
import { prepareRecord, readRecordManifest, verifyRecord } from './record-manifest.js';

export const OPFS_SCHEME = 'opfs://';
const ROOT = 'tensorloop-checkpoints';
const HEAD = 'head.json';

interface Head {
  readonly record: string;
  readonly manifest: CheckpointManifest;
}

type Directory = FileSystemDirectoryHandle;

/** Whether this browser has an Origin Private File System with writable files. */
export function opfsAvailable(): boolean {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  const handle = (globalThis as { FileSystemFileHandle?: { prototype: object } }).FileSystemFileHandle;
  return (
    typeof storage?.getDirectory === 'function' &&
    handle !== undefined &&
    'createWritable' in handle.prototype
  );
}

function ioError(action: string, where: string, cause: unknown): TensorloopError {
  if (cause instanceof TensorloopError) return cause;
  const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new TensorloopError(
    'TL_CHECKPOINT_IO',
    `could not ${action} ${where}: ${reason}; check that the site may store data and the quota is not exhausted`,
    { cause },
  );
}

async function root(): Promise<Directory> {
  if (!opfsAvailable()) {
    throw new TensorloopError(
      'TL_CHECKPOINT_IO',
      `${OPFS_SCHEME} checkpoints need the Origin Private File System with writable files, which this ` +
        "environment lacks; save to 'indexeddb://<name>' instead",
    );
  }
  const top = await navigator.storage.getDirectory();
  return top.getDirectoryHandle(ROOT, { create: true });
}

const encode = (name: string) => encodeURIComponent(name);

async function writeFile(dir: Directory, name: string, bytes: Uint8Array | string): Promise<void> {
  const file = await dir.getFileHandle(name, { create: true });
  const stream = await file.createWritable();
  try {
    await stream.write(bytes as Uint8Array<ArrayBuffer> | string);
    await stream.close();
  } catch (error) {
    await stream.abort().catch(() => undefined);
    throw error;
  }
}

async function readFile(dir: Directory, name: string): Promise<Uint8Array | undefined> {
  try {
    const file = await (await dir.getFileHandle(name)).getFile();
    return new Uint8Array(await file.arrayBuffer());
  } catch (error) {
    if (error instanceof DOMException && error.name === 'NotFoundError') return undefined;
    throw error;
  }
}

async function childDirectory(dir: Directory, name: string): Promise<Directory | undefined> {
  try {
    return await dir.getDirectoryHandle(name);
  } catch (error) {
    if (
      error instanceof DOMException &&
      (error.name === 'NotFoundError' || error.name === 'TypeMismatchError')
    ) {
      return undefined;
    }
    throw error;
  }
}

async function readHead(dir: Directory, where: string): Promise<Head | undefined> {
  const bytes = await readFile(dir, HEAD);
  if (bytes === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new TensorloopError(
      'TL_CHECKPOINT_CORRUPT',
      `${where}/${HEAD} is not valid JSON (${bytes.byteLength} bytes); the checkpoint was damaged, load an earlier one`,
    );
  }
  const head = value as Partial<Head> | null;
  if (typeof head?.record !== 'string' || !/^r-[0-9a-z-]+$/.test(head.record)) {
    throw new TensorloopError(
      'TL_CHECKPOINT_CORRUPT',
      `${where}/${HEAD} names no record folder; the checkpoint was damaged, load an earlier one`,
    );
  }
  return { record: head.record, manifest: readRecordManifest(where, head.manifest) };
}

async function entryNames(dir: Directory): Promise<string[]> {
  const names: string[] = [];
  for await (const key of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(key);
  return names;
}

function freshRecord(): string {
  const random = Math.floor(Math.random() * 2 ** 48).toString(36);
  return `r-${Date.now().toString(36)}-${random}`;
}

export const opfsStore: CheckpointStore = {
  scheme: OPFS_SCHEME,

  async write(name, files) {
    const where = OPFS_SCHEME + name;
    const { bytes, manifest } = await prepareRecord(files);
    try {
      const dir = await (await root()).getDirectoryHandle(encode(name), { create: true });
      const record = freshRecord();
      const folder = await dir.getDirectoryHandle(record, { create: true });
      for (const [file, content] of Object.entries(bytes)) await writeFile(folder, encode(file), content);
      await writeFile(dir, HEAD, JSON.stringify({ record, manifest } satisfies Head));
      // The head names the new record now: every other record folder is an old one or a leftover.
      for (const entry of await entryNames(dir)) {
        if (entry !== record && entry.startsWith('r-')) await dir.removeEntry(entry, { recursive: true });
      }
    } catch (error) {
      throw ioError('save the checkpoint', where, error);
    }
  },

  async read(name) {
    const where = OPFS_SCHEME + name;
    let head: Head | undefined;
    let folder: Directory | undefined;
    try {
      const dir = await childDirectory(await root(), encode(name));
      head = dir && (await readHead(dir, where));
      folder = dir && head && (await childDirectory(dir, head.record));
    } catch (error) {
      throw ioError('read the checkpoint', where, error);
    }
    if (head === undefined) {
      throw new TensorloopError(
        'TL_CHECKPOINT_IO',
        `no checkpoint at ${where}: nothing is saved under that name; list the saved ones with ` +
          `listCheckpoints('${OPFS_SCHEME}')`,
      );
    }
    return verifyRecord(where, head.manifest, async (file) =>
      folder === undefined ? undefined : readFile(folder, encode(file)),
    );
  },

  async remove(name) {
    try {
      const top = await root();
      const dir = await childDirectory(top, encode(name));
      if (dir === undefined) return;
      // The head first: without it the name holds no checkpoint, whatever is left of the rest.
      await dir.removeEntry(HEAD).catch(() => undefined);
      await top.removeEntry(encode(name), { recursive: true });
    } catch (error) {
      throw ioError('delete the checkpoint', OPFS_SCHEME + name, error);
    }
  },

  async list() {
    const out: SavedCheckpoint[] = [];
    try {
      const top = await root();
      for (const entry of await entryNames(top)) {
        const dir = await childDirectory(top, entry);
        const name = decodeURIComponent(entry);
        const head = dir && (await readHead(dir, OPFS_SCHEME + name).catch(() => undefined));
        if (head) out.push(savedOf(OPFS_SCHEME, name, head.manifest));
      }
    } catch (error) {
      throw ioError('list the checkpoints in', OPFS_SCHEME, error);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  },
};
