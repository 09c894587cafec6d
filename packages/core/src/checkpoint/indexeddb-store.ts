/**
 * Checkpoints in IndexedDB (`indexeddb://<name>`), the browser's counterpart of a checkpoint directory.
 *
 * Database `tensorloop-checkpoints` holds two object stores: `records` (one checkpoint's files, under a
 * fresh id per save) and `heads` (name → current record id and its manifest). A save computes every
 * checksum first, then puts the new record, points the head at it and deletes the old record in one
 * readwrite transaction: IndexedDB commits a transaction whole or not at all, so a reader (or a page
 * closed mid-save) sees the previous checkpoint or the new one, never a mix.
 */
import { TensorloopError } from '../errors.js';
import type { CheckpointManifest } from './atomic-dir.js';
import { type CheckpointStore, type SavedCheckpoint, savedOf } from './browser-store.js';
import { prepareRecord, readRecordManifest, verifyRecord } from './record-manifest.js';

export const INDEXEDDB_SCHEME = 'indexeddb://';
export const INDEXEDDB_DATABASE = 'tensorloop-checkpoints';
const DB_VERSION = 1;
const HEADS = 'heads';
const RECORDS = 'records';

interface Head {
  readonly record: string;
  readonly manifest: CheckpointManifest;
}

interface StoredRecord {
  readonly files: Record<string, Uint8Array>;
}

function factory(): IDBFactory {
  const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (idb === undefined) {
    throw new TensorloopError(
      'TL_CHECKPOINT_IO',
      `${INDEXEDDB_SCHEME} checkpoints need IndexedDB, which this environment lacks; in Node.js save to a ` +
        "directory instead (trainer.save('runs/run-1'))",
    );
  }
  return idb;
}

function ioError(action: string, where: string, cause: unknown): TensorloopError {
  if (cause instanceof TensorloopError) return cause;
  const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new TensorloopError(
    'TL_CHECKPOINT_IO',
    `could not ${action} ${where}: ${reason}; check that the site may store data (not a private window ` +
      'with storage blocked) and that the storage quota is not exhausted',
    { cause },
  );
}

let opened: Promise<IDBDatabase> | undefined;

function openDatabase(): Promise<IDBDatabase> {
  opened ??= new Promise<IDBDatabase>((resolve, reject) => {
    const request = factory().open(INDEXEDDB_DATABASE, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(HEADS)) db.createObjectStore(HEADS);
      if (!db.objectStoreNames.contains(RECORDS)) db.createObjectStore(RECORDS);
    };
    request.onsuccess = () => {
      const db = request.result;
      // Another tab upgrading the database: let it, and reopen on next use.
      db.onversionchange = () => {
        db.close();
        opened = undefined;
      };
      resolve(db);
    };
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error('the database is blocked by another open tab'));
  }).catch((error: unknown) => {
    opened = undefined;
    throw ioError('open the IndexedDB database', INDEXEDDB_DATABASE, error);
  });
  return opened;
}

/** Runs `body` in one transaction and resolves with its result once the transaction has committed. */
async function transact<T>(
  mode: IDBTransactionMode,
  body: (heads: IDBObjectStore, records: IDBObjectStore, done: (value: T) => void) => void,
): Promise<T> {
  const db = await openDatabase();
  return new Promise<T>((resolve, reject) => {
    const tx = db.transaction([HEADS, RECORDS], mode);
    let result: T;
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('the transaction was aborted'));
    body(tx.objectStore(HEADS), tx.objectStore(RECORDS), (value) => {
      result = value;
    });
  });
}

function freshId(): string {
  const random = Math.floor(Math.random() * 2 ** 48)
    .toString(16)
    .padStart(12, '0');
  return `${Date.now().toString(36)}-${random}`;
}

export const indexedDbStore: CheckpointStore = {
  scheme: INDEXEDDB_SCHEME,

  async write(name, files) {
    const where = INDEXEDDB_SCHEME + name;
    const { bytes, manifest } = await prepareRecord(files);
    const record = freshId();
    try {
      await transact<void>('readwrite', (heads, records) => {
        const previous = heads.get(name);
        previous.onsuccess = () => {
          const old = previous.result as Head | undefined;
          records.put({ files: bytes } satisfies StoredRecord, record);
          heads.put({ record, manifest } satisfies Head, name);
          if (old !== undefined && old.record !== record) records.delete(old.record);
        };
      });
    } catch (error) {
      throw ioError('save the checkpoint', where, error);
    }
  },

  async read(name) {
    const where = INDEXEDDB_SCHEME + name;
    let found: { head: Head | undefined; record: StoredRecord | undefined };
    try {
      found = await transact('readonly', (heads, records, done) => {
        const head = heads.get(name);
        head.onsuccess = () => {
          const h = head.result as Head | undefined;
          if (h === undefined || typeof h.record !== 'string') {
            done({ head: h, record: undefined });
            return;
          }
          const record = records.get(h.record);
          record.onsuccess = () => done({ head: h, record: record.result as StoredRecord | undefined });
        };
      });
    } catch (error) {
      throw ioError('read the checkpoint', where, error);
    }
    if (found.head === undefined) {
      throw new TensorloopError(
        'TL_CHECKPOINT_IO',
        `no checkpoint at ${where}: nothing is saved under that name; list the saved ones with ` +
          `listCheckpoints('${INDEXEDDB_SCHEME}')`,
      );
    }
    const manifest = readRecordManifest(where, found.head.manifest);
    const stored = found.record?.files ?? {};
    return verifyRecord(where, manifest, async (file) => {
      const value: unknown = stored[file];
      return value instanceof Uint8Array ? value : undefined;
    });
  },

  async remove(name) {
    try {
      await transact<void>('readwrite', (heads, records) => {
        const previous = heads.get(name);
        previous.onsuccess = () => {
          const old = previous.result as Head | undefined;
          heads.delete(name);
          if (old !== undefined) records.delete(old.record);
        };
      });
    } catch (error) {
      throw ioError('delete the checkpoint', INDEXEDDB_SCHEME + name, error);
    }
  },

  async list() {
    let entries: { name: string; head: Head }[];
    try {
      entries = await transact('readonly', (heads, _records, done) => {
        const out: { name: string; head: Head }[] = [];
        const cursor = heads.openCursor();
        cursor.onsuccess = () => {
          const c = cursor.result;
          if (c === null) {
            done(out);
            return;
          }
          out.push({ name: String(c.key), head: c.value as Head });
          c.continue();
        };
      });
    } catch (error) {
      throw ioError('list the checkpoints in', INDEXEDDB_SCHEME, error);
    }
    return entries.map(({ name, head }): SavedCheckpoint => savedOf(INDEXEDDB_SCHEME, name, head.manifest));
  },
};
