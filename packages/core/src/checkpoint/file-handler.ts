/**
 * A `file://` save/load handler for `@tensorflow/tfjs` in Node, which has none without tfjs-node.
 *
 * The layout is the one tfjs-node writes (`model.json` + `weights.bin`, weights listed in
 * `weightsManifest` relative to `model.json`), written as a crash-safe checkpoint directory (plus
 * `manifest.json`). Loading verifies checksums when the directory has a manifest and also reads plain
 * directories written by tfjs-node or the tfjs converter.
 */
import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from '../errors.js';
import {
  CHECKPOINT_MANIFEST,
  loadNodeBuiltins,
  parseCheckpointJson,
  readCheckpointFiles,
  readCheckpointManifest,
  resolveCheckpointDir,
  writeCheckpointDir,
} from './atomic-dir.js';
import { assertRealPathInside, assertWeightBytes, fileSize, weightPathInside } from './untrusted-paths.js';

export const FILE_URL_SCHEME = 'file://';
export const MODEL_JSON_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

/** Copies the bytes of a view into an ArrayBuffer of exactly that length. */
function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  ) {
    return bytes.buffer;
  }
  return bytes.slice().buffer as ArrayBuffer;
}

/**
 * The files of a saved model in the tfjs-node layout: `model.json` and, when there are weights,
 * `weights.bin`. `weightData` may be one ArrayBuffer or several (tfjs ≥ 4.10 shards large models).
 */
export function encodeModelArtifacts(artifacts: tf.io.ModelArtifacts): Record<string, Uint8Array | string> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      "saving a binary (GraphDef) model topology to 'file://' is not supported; save a LayersModel, whose " +
        'topology is JSON',
    );
  }
  const hasWeights = artifacts.weightSpecs != null && artifacts.weightData != null;
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology ?? {},
    weightsManifest: hasWeights ? [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }] : [],
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
  };
  if (artifacts.trainingConfig != null) modelJson.trainingConfig = artifacts.trainingConfig;
  if (artifacts.signature != null) modelJson.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata != null) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
  if (artifacts.modelInitializer != null) modelJson.modelInitializer = artifacts.modelInitializer;
  if (artifacts.initializerSignature != null) modelJson.initializerSignature = artifacts.initializerSignature;
  const files: Record<string, Uint8Array | string> = { [MODEL_JSON_FILE]: JSON.stringify(modelJson) };
  if (hasWeights) {
    files[WEIGHTS_FILE] = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  }
  return files;
}

function isModelJson(value: unknown): value is tf.io.ModelJSON {
  if (typeof value !== 'object' || value === null) return false;
  const manifest = (value as { weightsManifest?: unknown }).weightsManifest;
  return (
    'modelTopology' in value &&
    (manifest === undefined ||
      (Array.isArray(manifest) &&
        manifest.every(
          (group: unknown) =>
            typeof group === 'object' &&
            group !== null &&
            Array.isArray((group as { paths?: unknown }).paths) &&
            Array.isArray((group as { weights?: unknown }).weights),
        )))
  );
}

function parseModelJson(value: unknown, where: string): tf.io.ModelJSON {
  if (!isModelJson(value)) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `${where} is not a tfjs model.json: expected "modelTopology" and a "weightsManifest" list of ` +
        '{ paths, weights }',
    );
  }
  return value;
}

/** Weight file names of a model.json, relative to the directory holding it (refused if one leaves it). */
function weightPaths(modelJson: tf.io.ModelJSON, where: string): string[] {
  return (modelJson.weightsManifest ?? []).flatMap((group) =>
    group.paths.map((p) => weightPathInside(p, where)),
  );
}

function weightSpecs(modelJson: tf.io.ModelJSON): unknown[] {
  return (modelJson.weightsManifest ?? []).flatMap((group) => group.weights);
}

async function artifactsFrom(
  modelJson: tf.io.ModelJSON,
  readWeightFile: (relative: string) => Promise<Uint8Array>,
): Promise<tf.io.ModelArtifacts> {
  return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const specs = manifest.flatMap((group) => group.weights);
    const buffers: ArrayBuffer[] = [];
    for (const group of manifest) {
      for (const relative of group.paths) buffers.push(toArrayBuffer(await readWeightFile(relative)));
    }
    return [specs, buffers.length === 1 ? buffers[0]! : tf.io.CompositeArrayBuffer.join(buffers)];
  });
}

/**
 * Model artifacts from the files of a checkpoint (as read by `readCheckpointDir`), the inverse of
 * `encodeModelArtifacts`. `modelJsonName` may sit in a subdirectory; weight paths are relative to it.
 */
export async function decodeModelArtifacts(
  files: Readonly<Record<string, Uint8Array>>,
  modelJsonName: string = MODEL_JSON_FILE,
): Promise<tf.io.ModelArtifacts> {
  const modelJson = parseModelJson(parseCheckpointJson(files, modelJsonName), modelJsonName);
  const base = modelJsonName.includes('/') ? modelJsonName.slice(0, modelJsonName.lastIndexOf('/') + 1) : '';
  const listed = weightPaths(modelJson, modelJsonName).map((p) => files[normalizeRelative(base + p) ?? '']);
  if (listed.every((bytes) => bytes !== undefined)) {
    const total = listed.reduce((sum, bytes) => sum + bytes!.byteLength, 0);
    assertWeightBytes(weightSpecs(modelJson), total, modelJsonName);
  }
  return artifactsFrom(modelJson, async (relative) => {
    const name = normalizeRelative(base + relative);
    const bytes = name === undefined ? undefined : files[name];
    if (bytes === undefined) {
      throw new TensorloopError(
        'TL_CHECKPOINT_CORRUPT',
        `${modelJsonName} lists the weight file ${JSON.stringify(relative)}, which is not in the checkpoint; ` +
          'expected it to be saved with the model',
      );
    }
    return bytes;
  });
}

/** `a/./b/../c` -> `a/c`; undefined when the path leaves its root. */
function normalizeRelative(relative: string): string | undefined {
  const out: string[] = [];
  for (const part of relative.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

interface ModelLocation {
  /** The directory given (or holding the given model.json). */
  dir: string;
  /** The model.json file name inside it. */
  jsonName: string;
}

function locate(path: string, pathModule: typeof import('node:path')): ModelLocation {
  // A path naming a JSON file points at the model.json; anything else is the directory holding it.
  if (path.toLowerCase().endsWith('.json')) {
    return { dir: pathModule.dirname(pathModule.resolve(path)), jsonName: pathModule.basename(path) };
  }
  return { dir: pathModule.resolve(path), jsonName: MODEL_JSON_FILE };
}

async function loadFromCheckpoint(location: ModelLocation): Promise<tf.io.ModelArtifacts> {
  const manifest = await readCheckpointManifest(location.dir);
  const files = await readCheckpointFiles(location.dir, [location.jsonName]);
  const modelJson = parseModelJson(parseCheckpointJson(files, location.jsonName), location.jsonName);
  const where = `${location.jsonName} in ${location.dir}`;
  const names = weightPaths(modelJson, where);
  const missing = names.findIndex((name) => manifest.files[name] === undefined);
  if (missing >= 0) {
    throw new TensorloopError(
      'TL_CHECKPOINT_CORRUPT',
      `${where} lists the weight file ${JSON.stringify(names[missing])}, which the checkpoint manifest ` +
        'does not contain',
    );
  }
  // The manifest's sizes are checked against the files as they are read; here the specs against them.
  assertWeightBytes(
    weightSpecs(modelJson),
    names.reduce((sum, name) => sum + manifest.files[name]!.bytes, 0),
    where,
  );
  const weights = await readCheckpointFiles(location.dir, names);
  return artifactsFrom(modelJson, async (relative) => weights[weightPathInside(relative, where)]!);
}

async function loadFromPlainDirectory(source: string, jsonName: string): Promise<tf.io.ModelArtifacts> {
  const { fs, path } = await loadNodeBuiltins();
  const read = async (file: string): Promise<Uint8Array> => {
    try {
      return await fs.readFile(file);
    } catch (cause) {
      throw new TensorloopError(
        'TL_CHECKPOINT_IO',
        `could not read ${file}: ${cause instanceof Error ? cause.message : String(cause)}; ` +
          "expected a model saved with model.save('file://<dir>')",
        { cause },
      );
    }
  };
  const jsonFile = path.join(source, jsonName);
  const bytes = await read(jsonFile);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new TensorloopError('TL_CHECKPOINT_CORRUPT', `${jsonFile} is not valid JSON (truncated?)`, {
      cause,
    });
  }
  const modelJson = parseModelJson(value, jsonFile);
  const node = await loadNodeBuiltins();
  const files = weightPaths(modelJson, jsonFile).map((name) => path.join(source, ...name.split('/')));
  let total = 0;
  for (const file of files) {
    await assertRealPathInside(node, source, file, jsonFile);
    const size = await fileSize(node, file);
    if (size === undefined) await read(file); // reports the missing file
    total += size ?? 0;
  }
  assertWeightBytes(weightSpecs(modelJson), total, jsonFile);
  return artifactsFrom(modelJson, (relative) =>
    read(path.join(source, ...weightPathInside(relative, jsonFile).split('/'))),
  );
}

/**
 * An IOHandler saving to and loading from the file system in Node.
 *
 * @param path for saving, a directory (created or replaced as a whole); for loading, the `model.json`
 *   file or the directory holding it
 */
export function fileSystemHandler(path: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const files = encodeModelArtifacts(artifacts);
      // Replaces an earlier save of a model (ours or tfjs-node's), never a directory holding other data.
      await writeCheckpointDir(path, files, { onlyReplace: [MODEL_JSON_FILE, WEIGHTS_FILE] });
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const node = await loadNodeBuiltins();
      const location = locate(path, node.path);
      const source = await resolveCheckpointDir(location.dir);
      if (source === undefined) {
        throw new TensorloopError(
          'TL_CHECKPOINT_IO',
          `no saved model at ${node.path.join(location.dir, location.jsonName)}: the directory does not ` +
            "exist; expected a path written by model.save('file://<dir>')",
        );
      }
      const isCheckpoint = await node.fs
        .access(node.path.join(source, CHECKPOINT_MANIFEST))
        .then(() => true)
        .catch(() => false);
      return isCheckpoint ? loadFromCheckpoint(location) : loadFromPlainDirectory(source, location.jsonName);
    },
  };
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** tfjs-node (and -gpu) register their own `file://` router along with the 'tensorflow' backend. */
function tfjsNodeLoaded(): boolean {
  try {
    return tf.findBackendFactory('tensorflow') != null;
  } catch {
    return false;
  }
}

function fileSystemRouter(url: string | string[]): tf.io.IOHandler {
  const claims = typeof url === 'string' && url.startsWith(FILE_URL_SCHEME) && !tfjsNodeLoaded();
  // tfjs routers return null for URLs they do not serve, although IORouter's type does not say so.
  return (claims ? fileSystemHandler(url.slice(FILE_URL_SCHEME.length)) : null) as tf.io.IOHandler;
}

let registered = false;

/**
 * Lets `model.save('file://dir')` and `tf.loadLayersModel('file://dir/model.json')` work in Node with
 * plain `@tensorflow/tfjs`. Idempotent; does nothing in a browser or when another `file://` handler
 * (tfjs-node's) is registered, and stands aside if tfjs-node is loaded later.
 *
 * @returns whether this call registered the router
 */
export function registerFileSystemRouter(): boolean {
  if (registered || !isNode()) return false;
  const probe = `${FILE_URL_SCHEME}tensorloop-probe`;
  const needsSave = tf.io.getSaveHandlers(probe).length === 0;
  const needsLoad = tf.io.getLoadHandlers(probe).length === 0;
  if (needsSave) tf.io.registerSaveRouter(fileSystemRouter);
  if (needsLoad) tf.io.registerLoadRouter(fileSystemRouter);
  registered = true;
  return needsSave || needsLoad;
}
