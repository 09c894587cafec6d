import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isTensorloopError } from '../errors.js';
import { readCheckpointDir } from './atomic-dir.js';
import {
  decodeModelArtifacts,
  encodeModelArtifacts,
  fileSystemHandler,
  registerFileSystemRouter,
} from './file-handler.js';

let root: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerFileSystemRouter();
});

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tl-file-handler-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function buildModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  return model;
}

const input = () => tf.tensor2d([1, 2, 3, 4, -1, 0.5, 2, -3], [2, 4]);

function predict(model: tf.LayersModel): number[] {
  return tf.tidy(() => Array.from((model.predict(input()) as tf.Tensor).dataSync()));
}

async function trainOneStep(model: tf.LayersModel): Promise<void> {
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const x = input();
  const y = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3);
  await model.fit(x, y, { epochs: 2, verbose: 0 });
  tf.dispose([x, y]);
}

async function optimizerValues(model: tf.LayersModel): Promise<Array<{ name: string; values: number[] }>> {
  const named = await model.optimizer.getWeights();
  const out = named.map((w) => ({ name: w.name, values: Array.from(w.tensor.dataSync()) }));
  // getWeights creates a fresh `iter` scalar each call (tfjs#8238); the slots are live variables.
  named[0]?.tensor.dispose();
  return out;
}

function disposeModels(...models: tf.LayersModel[]): void {
  for (const model of models) model.dispose();
}

async function artifactsOf(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return captured!;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}

describe("model.save('file://') and tf.loadLayersModel('file://')", () => {
  it('saves the tfjs-node layout and loads a model with equal predictions', async () => {
    const model = buildModel();
    const dir = join(root, 'model');
    const result = await model.save(`file://${dir}`);
    expect(result.modelArtifactsInfo.weightDataBytes).toBe((4 * 8 + 8 + 8 * 3 + 3) * 4);
    expect((await readdir(dir)).sort()).toEqual(['manifest.json', 'model.json', 'weights.bin']);
    const modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(modelJson.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(modelJson.format).toBe('layers-model');

    const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
    expect(predict(loaded)).toEqual(predict(model));
    // The directory itself is accepted too.
    const again = await tf.loadLayersModel(`file://${dir}`);
    expect(predict(again)).toEqual(predict(model));
    disposeModels(model, loaded, again);
  });

  it('saves and restores the Adam optimizer state with includeOptimizer', async () => {
    const model = buildModel();
    await trainOneStep(model);
    const dir = join(root, 'with-optimizer');
    await model.save(`file://${dir}`, { includeOptimizer: true });
    const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
    expect(loaded.optimizer).toBeInstanceOf(tf.AdamOptimizer);
    const saved = await optimizerValues(model);
    const restored = await optimizerValues(loaded);
    expect(restored.map((w) => w.values)).toEqual(saved.map((w) => w.values));
    expect(restored[0]?.values).toEqual([2]); // two Adam steps
    expect(predict(loaded)).toEqual(predict(model));
    disposeModels(model, loaded);
    loaded.optimizer.dispose();
    model.optimizer.dispose();
  });

  it('overwrites an earlier save in the same directory', async () => {
    const dir = join(root, 'model');
    const first = buildModel();
    const second = buildModel();
    await first.save(`file://${dir}`);
    await second.save(`file://${dir}`);
    const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
    expect(predict(loaded)).toEqual(predict(second));
    expect(predict(loaded)).not.toEqual(predict(first));
    expect(await readdir(root)).toEqual(['model']);
    disposeModels(first, second, loaded);
  });

  it('loads and overwrites a directory written by tfjs-node (no manifest)', async () => {
    const model = buildModel();
    const dir = join(root, 'tfjs-node');
    await mkdir(dir);
    const artifacts = await artifactsOf(model);
    for (const [name, content] of Object.entries(encodeModelArtifacts(artifacts))) {
      await writeFile(join(dir, name), content);
    }
    const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
    expect(predict(loaded)).toEqual(predict(model));
    await loaded.save(`file://${dir}`);
    expect((await readdir(dir)).sort()).toEqual(['manifest.json', 'model.json', 'weights.bin']);
    disposeModels(model, loaded);
  });

  it('refuses a tampered weights.bin with TL_CHECKPOINT_CORRUPT', async () => {
    const model = buildModel();
    const dir = join(root, 'model');
    await model.save(`file://${dir}`);
    const file = join(dir, 'weights.bin');
    const bytes = await readFile(file);
    bytes[0] = bytes[0]! ^ 1;
    await writeFile(file, bytes);
    const error = await rejection(tf.loadLayersModel(`file://${dir}/model.json`));
    expect(isTensorloopError(error, 'TL_CHECKPOINT_CORRUPT')).toBe(true);
    expect(error.message).toContain(file);
    model.dispose();
  });

  it('loads the previous save after an overwrite interrupted between its renames', async () => {
    const model = buildModel();
    const dir = join(root, 'model');
    await model.save(`file://${dir}`);
    await rename(dir, join(root, '.model.tl-old'));
    const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
    expect(predict(loaded)).toEqual(predict(model));
    disposeModels(model, loaded);
  });

  it('refuses to replace a directory holding more than a model', async () => {
    const dir = join(root, 'project');
    await mkdir(dir);
    await writeFile(join(dir, 'data.csv'), '1,2,3');
    const model = buildModel();
    const error = await rejection(model.save(`file://${dir}`));
    expect(isTensorloopError(error, 'TL_CHECKPOINT_INVALID')).toBe(true);
    expect(await readdir(dir)).toEqual(['data.csv']);
    model.dispose();
  });

  it('reports a missing model with TL_CHECKPOINT_IO naming the path', async () => {
    const error = await rejection(tf.loadLayersModel(`file://${root}/missing/model.json`));
    expect(isTensorloopError(error, 'TL_CHECKPOINT_IO')).toBe(true);
    expect(error.message).toContain(join(root, 'missing', 'model.json'));
  });
});

describe('fileSystemHandler', () => {
  it('joins weightData given as several ArrayBuffers', async () => {
    const a = new Float32Array([1, 2, 3]);
    const b = new Float32Array([4, 5]);
    const artifacts: tf.io.ModelArtifacts = {
      modelTopology: { any: 'topology' },
      format: 'layers-model',
      weightSpecs: [
        { name: 'a', shape: [3], dtype: 'float32' },
        { name: 'b', shape: [2], dtype: 'float32' },
      ],
      weightData: [a.buffer, b.buffer],
    };
    const dir = join(root, 'sharded');
    const handler = fileSystemHandler(dir);
    await handler.save!(artifacts);
    const loaded = await handler.load!();
    expect(Array.from(new Float32Array(loaded.weightData as ArrayBuffer))).toEqual([1, 2, 3, 4, 5]);
    expect(loaded.weightSpecs).toEqual(artifacts.weightSpecs);
    const fromFiles = await decodeModelArtifacts(await readCheckpointDir(dir));
    expect(fromFiles.modelTopology).toEqual({ any: 'topology' });
  });
});

describe('registerFileSystemRouter', () => {
  it('is idempotent: exactly one file:// save and load handler', () => {
    expect(registerFileSystemRouter()).toBe(false);
    expect(tf.io.getSaveHandlers('file:///data/x')).toHaveLength(1);
    expect(tf.io.getLoadHandlers('file:///data/x/model.json')).toHaveLength(1);
    expect(tf.io.getSaveHandlers('indexeddb://x')).toHaveLength(0);
  });

  describe('with tfjs-node loaded', () => {
    beforeAll(() => {
      // tfjs-node registers the 'tensorflow' backend together with its own file:// router.
      tf.registerBackend('tensorflow', () => tf.findBackend('cpu')!, -100);
    });
    afterAll(() => {
      tf.removeBackend('tensorflow');
    });

    it("stands aside so that tfjs-node's handler is the only one", () => {
      expect(tf.io.getSaveHandlers('file:///data/x')).toHaveLength(0);
      expect(tf.io.getLoadHandlers('file:///data/x/model.json')).toHaveLength(0);
    });
  });
});

describe('tensor leaks', () => {
  it('save and load through file:// allocate no tensors beyond the loaded model', async () => {
    const model = buildModel();
    const dir = join(root, 'model');
    await model.save(`file://${dir}`); // warm-up: lazily created tensors
    const before = tf.memory().numTensors;
    await model.save(`file://${dir}`);
    expect(tf.memory().numTensors).toBe(before);
    const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('with includeOptimizer, leaks no more than a save to memory (tfjs#8238 leaks the iter scalar)', async () => {
    const model = buildModel();
    await trainOneStep(model);
    const dir = join(root, 'model');
    const toMemory = tf.io.withSaveHandler(async () => ({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' },
    }));
    await model.save(`file://${dir}`, { includeOptimizer: true });
    let before = tf.memory().numTensors;
    await model.save(toMemory, { includeOptimizer: true });
    const tfjsLeak = tf.memory().numTensors - before;
    before = tf.memory().numTensors;
    await model.save(`file://${dir}`, { includeOptimizer: true });
    expect(tf.memory().numTensors - before).toBe(tfjsLeak);
    expect(tfjsLeak).toBeLessThanOrEqual(1);
    model.dispose();
    model.optimizer.dispose();
  });
});
