/**
 * The manifest of a checkpoint kept in browser storage (IndexedDB, OPFS): the same
 * `tensorloop-checkpoint` manifest a checkpoint directory ends with (sizes and sha256 of every file),
 * made and checked with WebCrypto instead of `node:crypto`, so a corrupt record is refused the same way.
 */
import { TensorloopError } from '../errors.js';
import {
  assertValidFileNames,
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  CHECKPOINT_MANIFEST,
  type CheckpointManifest,
  parseManifest,
} from './atomic-dir.js';

export function toBytes(content: Uint8Array | string): Uint8Array {
  return typeof content === 'string' ? new TextEncoder().encode(content) : content;
}

function subtle(): SubtleCrypto {
  const crypto = (globalThis as { crypto?: Crypto }).crypto;
  if (crypto?.subtle === undefined) {
    throw new TensorloopError(
      'TL_CHECKPOINT_IO',
      'browser checkpoints need WebCrypto (crypto.subtle) for their checksums, which this page lacks; ' +
        'serve the page over https or from localhost (a secure context)',
    );
  }
  return crypto.subtle;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await subtle().digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Checks names as a checkpoint directory does: relative, `/`-separated, not the manifest's. */
export const checkRecordFileNames = assertValidFileNames;

/** The files as bytes and their manifest, ready to be stored as one record. */
export async function prepareRecord(
  files: Readonly<Record<string, Uint8Array | string>>,
): Promise<{ bytes: Record<string, Uint8Array>; manifest: CheckpointManifest }> {
  const names = Object.keys(files).sort();
  checkRecordFileNames(names);
  const bytes: Record<string, Uint8Array> = {};
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    files: {},
  };
  for (const name of names) {
    const content = toBytes(files[name]!);
    bytes[name] = content;
    manifest.files[name] = { bytes: content.byteLength, sha256: await sha256Hex(content) };
  }
  return { bytes, manifest };
}

/** Parses a stored manifest (as the directory reader does: format, version, entries). */
export function readRecordManifest(where: string, value: unknown): CheckpointManifest {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
  return parseManifest(`${where} (${CHECKPOINT_MANIFEST})`, new TextEncoder().encode(text));
}

function corrupt(where: string, name: string, message: string): TensorloopError {
  return new TensorloopError(
    'TL_CHECKPOINT_CORRUPT',
    `checkpoint file ${name} of ${where} ${message}; the record was damaged or modified after it was ` +
      'written, load an earlier checkpoint',
  );
}

/** Every file the manifest lists, each checked against its size and sha256. */
export async function verifyRecord(
  where: string,
  manifest: CheckpointManifest,
  read: (name: string) => Promise<Uint8Array | undefined>,
): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const name of Object.keys(manifest.files).sort()) {
    const entry = manifest.files[name]!;
    const bytes = await read(name);
    if (bytes === undefined) {
      throw corrupt(where, name, `is missing: expected ${entry.bytes} bytes with sha256 ${entry.sha256}`);
    }
    if (bytes.byteLength !== entry.bytes) {
      const how = bytes.byteLength < entry.bytes ? 'is truncated' : 'has the wrong size';
      throw corrupt(where, name, `${how}: expected ${entry.bytes} bytes, found ${bytes.byteLength}`);
    }
    const actual = await sha256Hex(bytes);
    if (actual !== entry.sha256) {
      throw corrupt(
        where,
        name,
        `does not match its checksum: expected sha256 ${entry.sha256}, found ${actual}`,
      );
    }
    out[name] = bytes;
  }
  return out;
}
