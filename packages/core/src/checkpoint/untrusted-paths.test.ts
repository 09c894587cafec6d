import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TensorloopError } from '../errors.js';
import { writeCheckpointDir } from './atomic-dir.js';
import { decodeModelArtifacts, registerFileSystemRouter } from './file-handler.js';
import { weightPathInside, weightSpecBytes } from './untrusted-paths.js';

let root: string;
const SECRET = new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer); // 16 bytes, a [4] float32 weight

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerFileSystemRouter();
});
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tl-untrusted-'));
  await writeFile(join(root, 'secret.bin'), SECRET);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A model.json with one Dense layer (4 → 1, no bias): its only weight is [4, 1] float32 = 16 bytes. */
function modelJson(paths: string[], shape: number[] = [4, 1]): string {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 1, useBias: false })] });
  const topology = model.toJSON(undefined, false);
  const name = model.getWeights().length ? model.weights[0]!.name : 'dense/kernel';
  model.dispose();
  return JSON.stringify({
    modelTopology: topology,
    format: 'layers-model',
    weightsManifest: [{ paths, weights: [{ name, shape, dtype: 'float32' }] }],
  });
}

async function plainDir(paths: string[], shape?: number[]): Promise<string> {
  const dir = join(root, 'model');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), modelJson(paths, shape));
  return dir;
}

async function failure(promise: Promise<unknown>): Promise<TensorloopError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TensorloopError);
  return error as TensorloopError;
}

const load = (dir: string) => tf.loadLayersModel(`file://${dir}/model.json`);

describe('untrusted model.json weight paths (plain directory, no manifest)', () => {
  it('a model.json naming ../secret.bin is refused, not loaded as weights', async () => {
    const error = await failure(load(await plainDir(['../secret.bin'])));
    expect(error.code).toBe('TL_CHECKPOINT_INVALID');
    expect(error.message).toContain('"../secret.bin"');
    expect(error.message).toContain('leaves the folder');
  });

  it('an absolute weight path is refused', async () => {
    const error = await failure(load(await plainDir([join(root, 'secret.bin')])));
    expect(error.code).toBe('TL_CHECKPOINT_INVALID');
    expect(error.message).toContain('is an absolute path');
  });

  it('a weight file that is a symlink out of the folder is refused', async () => {
    const dir = await plainDir(['weights.bin']);
    await symlink(join(root, 'secret.bin'), join(dir, 'weights.bin'));
    const error = await failure(load(dir));
    expect(error.code).toBe('TL_CHECKPOINT_INVALID');
    expect(error.message).toContain('symbolic link');
  });

  it('a symlink that stays inside the folder still loads', async () => {
    const dir = await plainDir(['link.bin']);
    await writeFile(join(dir, 'weights.bin'), SECRET);
    await symlink(join(dir, 'weights.bin'), join(dir, 'link.bin'));
    const model = await load(dir);
    expect(Array.from(model.getWeights()[0]!.dataSync())).toEqual([1, 2, 3, 4]);
    model.dispose();
  });

  it('a 10^12-element shape is refused before any allocation, by its size', async () => {
    const dir = await plainDir(['weights.bin'], [1_000_000, 1_000_000]);
    await writeFile(join(dir, 'weights.bin'), SECRET);
    const error = await failure(load(dir));
    expect(error.code).toBe('TL_CHECKPOINT_CORRUPT');
    expect(error.message).toContain('describe 4000000000000 bytes but the weight files hold 16');
  });

  it('a weight file shorter than its specs is refused (not padded or misread)', async () => {
    const dir = await plainDir(['weights.bin']);
    await writeFile(join(dir, 'weights.bin'), SECRET.slice(0, 12));
    const error = await failure(load(dir));
    expect(error.code).toBe('TL_CHECKPOINT_CORRUPT');
    expect(error.message).toContain('describe 16 bytes but the weight files hold 12');
  });
});

describe('untrusted checkpoint directories (with a checksum manifest)', () => {
  async function checkpointDir(paths: string[], weights: Record<string, Uint8Array> = {}): Promise<string> {
    const dir = join(root, 'ckpt');
    await writeCheckpointDir(dir, { 'model.json': modelJson(paths), ...weights });
    return dir;
  }

  it('a manifest-checked model.json naming ../secret.bin is refused', async () => {
    const error = await failure(load(await checkpointDir(['../secret.bin'])));
    expect(error.code).toBe('TL_CHECKPOINT_INVALID');
    expect(error.message).toContain('leaves the folder');
  });

  it('a weight file swapped for a symlink out, with a matching checksum, is refused', async () => {
    const dir = await checkpointDir(['weights.bin'], { 'weights.bin': SECRET });
    await rm(join(dir, 'weights.bin'));
    await symlink(join(root, 'secret.bin'), join(dir, 'weights.bin'));
    const error = await failure(load(dir));
    expect(error.code).toBe('TL_CHECKPOINT_INVALID');
    expect(error.message).toContain('symbolic link');
  });

  it('a weight file larger than its manifest entry is refused by its size, before it is read', async () => {
    const dir = await checkpointDir(['weights.bin'], { 'weights.bin': SECRET });
    await writeFile(join(dir, 'weights.bin'), new Uint8Array(1 << 20));
    const error = await failure(load(dir));
    expect(error.code).toBe('TL_CHECKPOINT_CORRUPT');
    expect(error.message).toContain('expected 16 bytes, found 1048576');
  });

  it('weight specs disagreeing with the manifest sizes are refused before reading', async () => {
    const dir = await checkpointDir(['weights.bin'], { 'weights.bin': SECRET.slice(0, 8) });
    const error = await failure(load(dir));
    expect(error.code).toBe('TL_CHECKPOINT_CORRUPT');
    expect(error.message).toContain('describe 16 bytes but the weight files hold 8');
  });

  it('the untouched checkpoint loads its weights', async () => {
    const dir = await checkpointDir(['weights.bin'], { 'weights.bin': SECRET });
    const model = await load(dir);
    expect(Array.from(model.getWeights()[0]!.dataSync())).toEqual([1, 2, 3, 4]);
    expect(await readFile(join(dir, 'weights.bin'))).toHaveLength(16);
    model.dispose();
  });

  it('decodeModelArtifacts (trainer checkpoints) refuses specs that disagree with the bytes', async () => {
    const files = {
      'model.json': new TextEncoder().encode(modelJson(['weights.bin'], [1_000_000, 1_000_000])),
      'weights.bin': SECRET,
    };
    const error = await failure(decodeModelArtifacts(files));
    expect(error.code).toBe('TL_CHECKPOINT_CORRUPT');
  });
});

describe('weightPathInside and weightSpecBytes', () => {
  it('normalizes paths that stay inside and refuses the rest', () => {
    expect(weightPathInside('./a//b/../weights.bin', 'm')).toBe('a/weights.bin');
    for (const bad of ['..', 'a/../../x', '/etc/passwd', 'C:/x', 'a\\b', 'file:///x', '', '.', 'a\0b']) {
      expect(() => weightPathInside(bad, 'm')).toThrow(TensorloopError);
    }
  });

  it('counts bytes per dtype and quantization, and refuses shapes past a safe integer', () => {
    const specs = [
      { name: 'a', shape: [2, 3], dtype: 'float32' },
      { name: 'b', shape: [5], dtype: 'bool' },
      { name: 'c', shape: [4], dtype: 'float32', quantization: { dtype: 'uint8', scale: 1, min: 0 } },
    ];
    expect(weightSpecBytes(specs, 'm')).toEqual({ bytes: 24 + 5 + 4, exact: true });
    expect(() => weightSpecBytes([{ name: 'x', shape: [2 ** 40, 2 ** 40], dtype: 'float32' }], 'm')).toThrow(
      /absurd shape/,
    );
    expect(() => weightSpecBytes([{ name: 'x', shape: [-1], dtype: 'float32' }], 'm')).toThrow(/shape/);
    expect(() => weightSpecBytes([{ name: 'x', shape: [1], dtype: 'float64' }], 'm')).toThrow(/dtype/);
  });
});
