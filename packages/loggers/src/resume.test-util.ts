// Reading back what the TensorBoard logger wrote (for the resume tests): every events file of a run folder.
import { join } from 'node:path';
import { listEventFiles, readEventFile } from './event-file.js';

/** Every scalar of a run folder, in TensorBoard's reading order: "tag@step" → values (one when nothing is duplicated). */
export async function scalarsOf(runDir: string): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const file of await listEventFiles(runDir)) {
    for (const event of await readEventFile(join(runDir, file))) {
      for (const v of event.summary?.value ?? []) {
        if (v.simpleValue === undefined) continue;
        const key = `${v.tag}@${event.step ?? 0}`;
        out.set(key, [...(out.get(key) ?? []), v.simpleValue]);
      }
    }
  }
  return out;
}

/** Every histogram of a run folder: "tag@step" → [num, min, max, sum]. */
export async function histogramsOf(runDir: string): Promise<[string, number[]][]> {
  const out: [string, number[]][] = [];
  for (const file of await listEventFiles(runDir)) {
    for (const event of await readEventFile(join(runDir, file))) {
      for (const v of event.summary?.value ?? []) {
        if (v.histo)
          out.push([`${v.tag}@${event.step ?? 0}`, [v.histo.num, v.histo.min, v.histo.max, v.histo.sum]]);
      }
    }
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}
