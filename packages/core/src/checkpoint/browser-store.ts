/** What a browser checkpoint store (IndexedDB, OPFS) offers the checkpoint code, and its shared helpers. */
import { TensorloopError } from '../errors.js';
import type { CheckpointManifest } from './atomic-dir.js';

/** A checkpoint kept in browser storage, as `listCheckpoints()` reports it. */
export interface SavedCheckpoint {
  /** What `resumeFrom`, `Trainer.load` and `removeCheckpoint` take: `indexeddb://run-1`. */
  readonly url: string;
  /** The name after the scheme: `run-1`. */
  readonly name: string;
  /** ISO 8601 time of the save. */
  readonly savedAt: string;
  /** Total size of its files. */
  readonly bytes: number;
}

/** One kind of browser storage, addressed by the name after its scheme. */
export interface CheckpointStore {
  readonly scheme: string;
  /** Stores the files as the checkpoint `name`, replacing an earlier one only once all is written. */
  write(name: string, files: Readonly<Record<string, Uint8Array | string>>): Promise<void>;
  /** Every file of the checkpoint, each checked against the manifest's size and sha256. */
  read(name: string): Promise<Record<string, Uint8Array>>;
  /** Removes the checkpoint; nothing happens when there is none. */
  remove(name: string): Promise<void>;
  list(): Promise<SavedCheckpoint[]>;
}

export function checkStoreName(scheme: string, name: string): string {
  if (name === '' || name !== name.trim() || name.startsWith('/') || name.endsWith('/')) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `${JSON.stringify(scheme + name)} does not name a checkpoint: expected ${scheme}<name>, such as ` +
        `'${scheme}run-1' or '${scheme}run-1/last'`,
    );
  }
  return name;
}

export function savedOf(
  scheme: string,
  name: string,
  manifest: CheckpointManifest | undefined,
): SavedCheckpoint {
  const files = Object.values(manifest?.files ?? {});
  return {
    url: scheme + name,
    name,
    savedAt: manifest?.createdAt ?? '',
    bytes: files.reduce((sum, f) => sum + (f?.bytes ?? 0), 0),
  };
}
