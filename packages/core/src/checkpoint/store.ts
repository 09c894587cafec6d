/**
 * Where a checkpoint goes, by its location: `indexeddb://<name>` and `opfs://<name>` to browser
 * storage, anything else to a crash-safe directory on the file system (Node.js). Every kind stores the
 * same files with the same manifest (sizes, sha256), so every kind refuses a corrupt checkpoint alike.
 */
import { TensorloopError } from '../errors.js';
import { readCheckpointDir, removeCheckpointDir, writeCheckpointDir } from './atomic-dir.js';
import { type CheckpointStore, checkStoreName, type SavedCheckpoint } from './browser-store.js';
import { INDEXEDDB_SCHEME, indexedDbStore } from './indexeddb-store.js';
import { OPFS_SCHEME, opfsStore } from './opfs-store.js';

const STORES: readonly CheckpointStore[] = [indexedDbStore, opfsStore];

/** The browser store a location names, and the name inside it; undefined for a file-system path. */
function browserStoreOf(location: string): { store: CheckpointStore; name: string } | undefined {
  const store = STORES.find((s) => location.startsWith(s.scheme));
  return store && { store, name: checkStoreName(store.scheme, location.slice(store.scheme.length)) };
}

/** Whether `location` names browser storage (`indexeddb://…`, `opfs://…`) rather than a directory. */
export function isBrowserCheckpoint(location: string): boolean {
  return STORES.some((s) => location.startsWith(s.scheme));
}

/** Writes the files as the checkpoint at `location`, atomically (the old one stays until the new one is whole). */
export async function writeCheckpoint(
  location: string,
  files: Readonly<Record<string, Uint8Array | string>>,
): Promise<void> {
  const browser = browserStoreOf(location);
  if (browser) await browser.store.write(browser.name, files);
  else await writeCheckpointDir(location, files);
}

/** Every file of the checkpoint at `location`, verified against its manifest. */
export async function readCheckpoint(location: string): Promise<Record<string, Uint8Array>> {
  const browser = browserStoreOf(location);
  return browser ? browser.store.read(browser.name) : readCheckpointDir(location);
}

/**
 * Deletes the checkpoint at `location` (`indexeddb://run-1`, `opfs://run-1` or a directory); nothing
 * happens when there is none.
 */
export async function removeCheckpoint(location: string): Promise<void> {
  const browser = browserStoreOf(location);
  if (browser) await browser.store.remove(browser.name);
  else await removeCheckpointDir(location);
}

/**
 * The checkpoints saved in browser storage, sorted by name: `listCheckpoints('indexeddb://')`, or
 * `listCheckpoints('indexeddb://run-1/')` for the names under a prefix.
 */
export async function listCheckpoints(prefix: string = INDEXEDDB_SCHEME): Promise<SavedCheckpoint[]> {
  const store = STORES.find((s) => prefix.startsWith(s.scheme));
  if (store === undefined) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `listCheckpoints(${JSON.stringify(prefix)}): expected '${INDEXEDDB_SCHEME}' or '${OPFS_SCHEME}', ` +
        'optionally followed by a name prefix; a directory of checkpoints is listed with fs.readdir',
    );
  }
  const under = prefix.slice(store.scheme.length);
  const all = await store.list();
  return all
    .filter((c) => c.name.startsWith(under))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
