import type { FileHandle } from 'node:fs/promises';
import { nodeFs } from './node-env.js';

const encoder = new TextEncoder();
/** The folder of a path (no `node:path`, so that a browser bundle of this package never sees it). */
function parentDir(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut < 0 ? '.' : cut === 0 ? path.slice(0, 1) : path.slice(0, cut);
}
const toBytes = (data: string | Uint8Array) => (typeof data === 'string' ? encoder.encode(data) : data);

/**
 * A file a logger owns, written at known positions: `bytes` is the length of what was written
 * successfully, so a checkpoint can record it and a resume can cut the file back to it. A write that
 * fails half-way leaves nothing past `bytes` once the file is closed.
 */
export class LogFile {
  private dirty = false;

  private constructor(
    private handle: FileHandle,
    readonly path: string,
    /** Bytes written successfully: the file's length as far as the logger is concerned. */
    public bytes: number,
  ) {}

  /** Creates (or empties) the file, and its folder. */
  static async create(path: string): Promise<LogFile> {
    const fs = await nodeFs();
    await fs.mkdir(parentDir(path), { recursive: true });
    return new LogFile(await fs.open(path, 'w'), path, 0);
  }

  /** Opens an existing file to continue writing after its first `keep` bytes (the rest is cut off). */
  static async continue(path: string, keep: number): Promise<LogFile> {
    const fs = await nodeFs();
    const handle = await fs.open(path, 'r+');
    try {
      const { size } = await handle.stat();
      if (size !== keep) await handle.truncate(keep);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return new LogFile(handle, path, keep);
  }

  /** The whole file, or undefined when it does not exist. */
  static async read(path: string): Promise<Uint8Array | undefined> {
    const fs = await nodeFs();
    try {
      return await fs.readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async append(data: string | Uint8Array): Promise<void> {
    const bytes = toBytes(data);
    this.dirty = true;
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, this.bytes + done);
      done += bytesWritten;
    }
    this.bytes += bytes.length;
    this.dirty = false;
  }

  /** Replaces the whole content (a CSV header that gained a column): a temporary sibling, then a rename. */
  async replace(data: string | Uint8Array): Promise<void> {
    const fs = await nodeFs();
    const bytes = toBytes(data);
    await writeWholeFile(this.path, bytes); // (POSIX: the old handle keeps the replaced file until closed)
    await this.handle.close();
    this.handle = await fs.open(this.path, 'r+');
    this.bytes = bytes.length;
    this.dirty = false;
  }

  async sync(): Promise<void> {
    await this.handle.sync();
  }

  /** Closes the file; after a failed write, first cuts off whatever that write left past `bytes`. */
  async close(): Promise<void> {
    try {
      if (this.dirty) await this.handle.truncate(this.bytes);
    } finally {
      await this.handle.close();
    }
  }
}

/** Writes `data` as the whole file atomically (a temporary sibling, then a rename). */
export async function writeWholeFile(path: string, data: string | Uint8Array): Promise<void> {
  const fs = await nodeFs();
  await fs.mkdir(parentDir(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}`;
  await fs.writeFile(temp, toBytes(data));
  await fs.rename(temp, path);
}

export const byteLength = (text: string): number => encoder.encode(text).length;
