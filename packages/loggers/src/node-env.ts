import { TensorloopError } from '@tensorloop/core';

/** True in Node.js (and runtimes that implement its `fs`), false in a browser or a worker. */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/**
 * File loggers need Node's `fs`; in a browser they fail when created, before any training, instead
 * of deep inside a fit. (The modules are imported lazily, so importing this package in a browser
 * for `defineLogger` works.)
 */
export function requireNode(plugin: string, what: string): void {
  if (isNode()) return;
  throw new TensorloopError(
    'TL_OPTION_INVALID',
    `[${plugin}] ${what} writes files with Node's fs and cannot run in a browser. In a browser, send logs elsewhere with defineLogger({ name, onEpoch }) (e.g. to your server or IndexedDB).`,
    { plugin },
  );
}

export type NodeFs = typeof import('node:fs/promises');

let fsModule: Promise<NodeFs> | undefined;
/** `node:fs/promises`, loaded on first use. */
export function nodeFs(): Promise<NodeFs> {
  fsModule ??= import('node:fs/promises');
  return fsModule;
}

/** The host name for event file names (`events.out.tfevents.<time>.<host>...`). */
export async function hostName(): Promise<string> {
  const os = await import('node:os');
  return os.hostname().replace(/[^A-Za-z0-9._-]/g, '_') || 'localhost';
}
