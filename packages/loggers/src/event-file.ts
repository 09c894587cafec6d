import { decodeEvent, type EventMessage, encodeEvent, FILE_VERSION } from './event-proto.js';
import { LogFile } from './log-file.js';
import { hostName, nodeFs } from './node-env.js';
import { frameRecord, readRecords } from './tfrecord.js';

const PREFIX = 'events.out.tfevents.';
let filesThisProcess = 0;

/** The `<seconds>` of `events.out.tfevents.<seconds>.<host>...`, or undefined. */
export function fileSeconds(file: string | undefined): number | undefined {
  const match = file === undefined ? null : /^events\.out\.tfevents\.(\d+)\./.exec(file);
  return match ? Number(match[1]) : undefined;
}

/** `dir/file` (no `node:path`, so that a browser bundle of this package never sees it). */
export const joinPath = (dir: string, file: string) => `${dir.replace(/[\\/]+$/, '')}/${file}`;

/**
 * One TensorBoard events file: TFRecord-framed `Event` protobufs, the first holding the file
 * version. Every event is written through at once, so a checkpoint taken after it can record the
 * file's length and a resume can cut the file back to it.
 */
export class EventFile {
  private constructor(
    private readonly file: LogFile,
    readonly dir: string,
    readonly name: string,
  ) {}

  /**
   * A new file in `dir` named `events.out.tfevents.<seconds>.<host>.<pid>.<n>`. TensorBoard reads a
   * run's files in name order, so `<seconds>` is kept past the run's previous file (`after`).
   */
  static async create(dir: string, after: string | undefined): Promise<EventFile> {
    const seconds = Math.max(Math.floor(Date.now() / 1000), (fileSeconds(after) ?? -1) + 1);
    filesThisProcess += 1;
    const name = `${PREFIX}${String(seconds).padStart(10, '0')}.${await hostName()}.${process.pid}.${filesThisProcess}`;
    const file = await LogFile.create(joinPath(dir, name));
    const events = new EventFile(file, dir, name);
    await events.write({ wallTime: Date.now() / 1000, fileVersion: FILE_VERSION });
    return events;
  }

  get bytes(): number {
    return this.file.bytes;
  }

  async write(event: EventMessage): Promise<void> {
    await this.file.append(frameRecord(encodeEvent(event)));
  }

  async sync(): Promise<void> {
    await this.file.sync();
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

/** Cuts an events file back to `bytes` (what a checkpoint recorded). Returns the length it had, or undefined if it is gone. */
export async function truncateEventFile(
  dir: string,
  name: string,
  bytes: number,
): Promise<number | undefined> {
  const path = joinPath(dir, name);
  const content = await LogFile.read(path);
  if (content === undefined) return undefined;
  if (content.length > bytes) await (await LogFile.continue(path, bytes)).close();
  return content.length;
}

/** Events files of a run folder, in the order TensorBoard reads them. */
export async function listEventFiles(dir: string): Promise<string[]> {
  const fs = await nodeFs();
  try {
    return (await fs.readdir(dir)).filter((f) => f.includes('tfevents')).sort();
  } catch {
    return [];
  }
}

/** Every event of an events file, CRCs checked (for checks and tests). */
export async function readEventFile(path: string): Promise<EventMessage[]> {
  const bytes = await LogFile.read(path);
  if (bytes === undefined) throw new Error(`${path} does not exist`);
  return readRecords(bytes).map(decodeEvent);
}
