// Property tests (issue 20) for the files of a checkpoint: trainer.json, manifest.json and plugin
// state. A field replaced by junk (with the manifest's checksum updated, so the parsers themselves
// are tested, not the checksum) is accepted or refused with a coded TensorloopError — and a refusal
// leaves the trainer as it was: no weight written, no counter moved.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { acceptsOrRefusesClearlyAsync, junk } from '@tensorloop/test-fixtures';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { definePlugin } from '../plugin.js';
import { readState } from '../plugin-state.js';
import { classificationData, tinyClassifier, weightsOf } from '../test-helpers.js';
import { Trainer } from '../trainer.js';
import { readCheckpointDir } from './atomic-dir.js';

let root: string;
let saved: string;
const data = classificationData(16);

// A plugin with state and a parseState, so plugin state is in the file and parsed on load.
const counter = () => {
  let seen = 0;
  return definePlugin({
    name: 'test:props-counter',
    onEpochEnd: () => {
      seen += 1;
    },
    state: () => ({ seen, label: 'x' }),
    parseState: (s: unknown) => {
      const r = readState(s, 'test:props-counter');
      return { seen: r.integer('seen', { min: 0 }), label: r.string('label') };
    },
    loadState: (s: { seen: number }) => {
      seen = s.seen;
    },
  });
};

const makeTrainer = () =>
  new Trainer({
    model: tinyClassifier(),
    loss: 'categoricalCrossentropy',
    optimizer: tf.train.adam(0.01),
    plugins: [counter()],
    log: 'silent',
  });

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'tl-ckpt-props-'));
  saved = join(root, 'saved');
  const t = makeTrainer();
  await t.fit(data, { epochs: 2, batchSize: 8, validationData: data });
  await t.save(saved);
});
afterAll(async () => {
  tf.dispose([data.x, data.y]);
  await rm(root, { recursive: true, force: true });
});

/** Every path into a JSON value (objects and arrays), for picking the one to replace. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.slice(0, 3).entries()) out.push(...pathsOf(v, [...prefix, i]));
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  }
  return out;
}

function replaced(value: unknown, path: readonly (string | number)[], by: unknown): unknown {
  if (path.length === 0) return by;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >;
  copy[head!] = replaced((value as Record<string | number, unknown>)[head!], rest, by);
  return copy;
}

let copies = 0;
/** A copy of the saved checkpoint with one file rewritten and the manifest made to agree with it. */
async function tampered(file: string, edit: (json: unknown) => unknown, fixManifest = true): Promise<string> {
  const dir = join(root, `copy-${copies++}`);
  const files = await readCheckpointDir(saved);
  const { mkdir } = await import('node:fs/promises');
  const manifest = JSON.parse(await readFile(join(saved, 'manifest.json'), 'utf8'));
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), bytes);
  }
  if (file === 'manifest.json') {
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(edit(manifest)) ?? '');
    return dir;
  }
  const text = JSON.stringify(edit(JSON.parse(new TextDecoder().decode(files[file]!)))) ?? '';
  await writeFile(join(dir, file), text);
  if (fixManifest) {
    const bytes = new TextEncoder().encode(text);
    manifest.files[file] = {
      bytes: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  }
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

async function loadLeavesTrainerAlone(dir: string): Promise<void> {
  const t = makeTrainer();
  const before = weightsOf(t.model);
  const time = { ...t.time };
  const error = await acceptsOrRefusesClearlyAsync(
    () => t.loadCheckpoint(dir),
    ['trainer.json', 'model.json', 'manifest', 'checkpoint', dir],
  );
  if (error) {
    expect(weightsOf(t.model)).toEqual(before);
    expect({ ...t.time }).toEqual(time);
  }
  t.model.dispose();
}

describe('checkpoint files with a field replaced by junk', () => {
  test('trainer.json: accepted, or refused naming the file before anything is applied', async () => {
    const json = JSON.parse(new TextDecoder().decode((await readCheckpointDir(saved))['trainer.json']!));
    const paths = pathsOf(json);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), junk, async (path, value) => {
        await loadLeavesTrainerAlone(await tampered('trainer.json', (j) => replaced(j, path, value)));
      }),
      { numRuns: 80 },
    );
  });

  test('manifest.json: accepted, or refused with a code', async () => {
    const manifest = JSON.parse(await readFile(join(saved, 'manifest.json'), 'utf8'));
    const paths = pathsOf(manifest);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), junk, async (path, value) => {
        await loadLeavesTrainerAlone(await tampered('manifest.json', (m) => replaced(m, path, value)));
      }),
      { numRuns: 40 },
    );
  });

  test('model/model.json: accepted, or refused with a code', async () => {
    const files = await readCheckpointDir(saved);
    const paths = pathsOf(JSON.parse(new TextDecoder().decode(files['model/model.json']!))).filter(
      (p) => p[0] !== 'modelTopology' || p.length < 3,
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), junk, async (path, value) => {
        await loadLeavesTrainerAlone(await tampered('model/model.json', (m) => replaced(m, path, value)));
      }),
      { numRuns: 40 },
    );
  });
});
