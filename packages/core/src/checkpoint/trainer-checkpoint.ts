import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from '../errors.js';
import type { HyperparamStoreState } from '../hyperparams.js';
import type { EpochRecord, StopReason } from '../plugin.js';
import type { Time } from '../time.js';
import { parseCheckpointJson } from './atomic-dir.js';
import { decodeModelArtifacts, encodeModelArtifacts } from './file-handler.js';
import type { SavedOptimizer } from './optimizer-state.js';
import { readCheckpoint, writeCheckpoint } from './store.js';
import { checkTrainerJsonFields } from './trainer-json-check.js';
import { assertWeightBytes } from './untrusted-paths.js';

export const TRAINER_FILE = 'trainer.json';
export const MODEL_DIR = 'model';
export const OPTIMIZER_FILE = 'optimizer.bin';
/** Tensors that plugins' state holds (`withTensors`); absent when no plugin state has tensors. */
export const PLUGIN_TENSORS_FILE = 'plugins.bin';
export const TRAINER_FORMAT = 'tensorloop-trainer';
/** 2: plugin state may hold tensors (`plugins.bin`, `pluginWeights`); 1 is read as is. */
export const TRAINER_FORMAT_VERSION = 2;

/** Where in a fit the checkpoint was taken, so a resume continues exactly there. */
export interface FitCheckpoint {
  readonly index: number;
  readonly epochs: number;
  /** Epochs of this fit completed before the resume point. */
  readonly epochsDone: number;
  readonly fitStep: number;
  readonly fitBatch: number;
  readonly batchesPerEpoch: number | undefined;
  /** Set for a checkpoint taken inside an epoch (onBatchEnd). */
  readonly midEpoch?: {
    readonly epochBatch: number;
    /** RNG state when the epoch drew its shuffle order. */
    readonly epochStartRng: number;
    /** Running sums of the epoch's logs so far and the smoothed-loss state. */
    readonly sums: readonly number[];
    readonly count: number;
    readonly smoothAvg: number | undefined;
    readonly smoothN: number;
  };
}

export interface TrainerCheckpointJson {
  readonly format: typeof TRAINER_FORMAT;
  readonly formatVersion: number;
  readonly coreVersion: string;
  readonly savedAt: string;
  readonly time: Time;
  readonly rng: number;
  /** Present when saved inside a fit that had not ended. */
  readonly fit: FitCheckpoint | undefined;
  readonly stopReason: StopReason | undefined;
  readonly history: readonly EpochRecord[];
  readonly hparams: HyperparamStoreState;
  /** Weights that were frozen (trainable false). */
  readonly frozen: readonly string[];
  readonly optimizer: SavedOptimizer;
  readonly optimizerWeights: readonly tf.io.WeightsManifestEntry[];
  /** Specs of the tensors in `plugins.bin` (absent in checkpoints without plugin tensors). */
  readonly pluginWeights?: readonly tf.io.WeightsManifestEntry[];
  readonly plugins: Readonly<
    Record<
      string,
      {
        readonly version: string | null;
        readonly state: unknown;
        /** Names of the tensors this plugin's state holds (in `plugins.bin`). */
        readonly tensors?: readonly string[];
      }
    >
  >;
  readonly loss: string | null;
}

export interface CheckpointContents {
  readonly json: TrainerCheckpointJson;
  /** Model weights by weight name (caller disposes). */
  readonly weights: tf.NamedTensorMap;
  /** Optimizer slots by `${weightName}/${slot}` (caller disposes). */
  readonly slots: tf.NamedTensorMap;
  /** Plugin state tensors by `${plugin}::${name}` (caller disposes). */
  readonly pluginTensors: tf.NamedTensorMap;
  readonly modelArtifacts: tf.io.ModelArtifacts;
}

/** Model topology + weights in tfjs format (loadable with tf.loadLayersModel and our file:// handler). */
export async function modelFiles(model: tf.LayersModel): Promise<Record<string, Uint8Array | string>> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  const files = encodeModelArtifacts(captured!);
  return Object.fromEntries(Object.entries(files).map(([name, bytes]) => [`${MODEL_DIR}/${name}`, bytes]));
}

export async function writeTrainerCheckpoint(
  dir: string,
  json: Omit<TrainerCheckpointJson, 'optimizerWeights' | 'pluginWeights'>,
  model: tf.LayersModel,
  slots: tf.NamedTensorMap,
  pluginTensors: tf.NamedTensorMap,
): Promise<void> {
  const encoded = await tf.io.encodeWeights(slots);
  const hasPluginTensors = Object.keys(pluginTensors).length > 0;
  const plugin = hasPluginTensors ? await tf.io.encodeWeights(pluginTensors) : undefined;
  const full: TrainerCheckpointJson = {
    ...json,
    optimizerWeights: encoded.specs,
    ...(plugin ? { pluginWeights: plugin.specs } : {}),
  };
  let text: string;
  try {
    text = JSON.stringify(full);
  } catch (cause) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `The trainer state is not JSON-serializable (${(cause as Error).message}). Plugin state() must return plain JSON.`,
      { cause },
    );
  }
  await writeCheckpoint(dir, {
    ...(await modelFiles(model)),
    [OPTIMIZER_FILE]: new Uint8Array(encoded.data),
    ...(plugin ? { [PLUGIN_TENSORS_FILE]: new Uint8Array(plugin.data) } : {}),
    [TRAINER_FILE]: text,
  });
}

function checkJson(value: unknown, dir: string): TrainerCheckpointJson {
  const json = value as Partial<TrainerCheckpointJson> | null;
  if (!json || json.format !== TRAINER_FORMAT) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `${dir} is not a tensorloop trainer checkpoint (${TRAINER_FILE} has no "format": "${TRAINER_FORMAT}"). To load a plain tfjs model use tf.loadLayersModel('file://${dir}/model/model.json').`,
    );
  }
  if (typeof json.formatVersion !== 'number' || json.formatVersion > TRAINER_FORMAT_VERSION) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `${dir} was written by a newer @tensorloop/core (trainer format ${json.formatVersion}; this version reads up to ${TRAINER_FORMAT_VERSION}). Upgrade @tensorloop/core.`,
    );
  }
  checkTrainerJsonFields(json as Record<string, unknown>, `${dir}/${TRAINER_FILE}`);
  return json as TrainerCheckpointJson;
}

/** Read and verify (checksums, format) a trainer checkpoint. Nothing is applied. */
export async function readTrainerCheckpoint(dir: string): Promise<CheckpointContents> {
  const files = await readCheckpoint(dir);
  const json = checkJson(parseCheckpointJson(files, TRAINER_FILE), dir);
  const modelArtifacts = await decodeModelArtifacts(files, `${MODEL_DIR}/model.json`);
  const weightData = modelArtifacts.weightData;
  const weights =
    modelArtifacts.weightSpecs && weightData
      ? tf.io.decodeWeights(tf.io.CompositeArrayBuffer.join(weightData), modelArtifacts.weightSpecs)
      : {};
  const bin = files[OPTIMIZER_FILE];
  if (!bin) {
    throw new TensorloopError(
      'TL_CHECKPOINT_CORRUPT',
      `${dir} has no ${OPTIMIZER_FILE}; expected the optimizer state next to ${TRAINER_FILE}.`,
    );
  }
  assertWeightBytes(json.optimizerWeights, bin.byteLength, `${dir}/${TRAINER_FILE} optimizerWeights`);
  if (json.pluginWeights && pluginBinOf(files)) {
    assertWeightBytes(
      json.pluginWeights,
      pluginBinOf(files)!.byteLength,
      `${dir}/${TRAINER_FILE} pluginWeights`,
    );
  }
  const slots = tf.io.decodeWeights(toArrayBuffer(bin), [...json.optimizerWeights]);
  const pluginBin = files[PLUGIN_TENSORS_FILE];
  if (json.pluginWeights && !pluginBin) {
    tf.dispose([...Object.values(weights), ...Object.values(slots)] as tf.Tensor[]);
    throw new TensorloopError(
      'TL_CHECKPOINT_CORRUPT',
      `${dir} has no ${PLUGIN_TENSORS_FILE}, which its ${TRAINER_FILE} lists; the checkpoint is incomplete.`,
    );
  }
  const pluginTensors =
    json.pluginWeights && pluginBin
      ? tf.io.decodeWeights(toArrayBuffer(pluginBin), [...json.pluginWeights])
      : {};
  return { json, weights, slots, pluginTensors, modelArtifacts };
}

/** Dispose every tensor of these maps (what a read checkpoint hands over). */
export function disposeMaps(...maps: tf.NamedTensorMap[]): void {
  tf.dispose(maps.flatMap((m) => Object.values(m)) as tf.Tensor[]);
}

const pluginBinOf = (files: Readonly<Record<string, Uint8Array>>) => files[PLUGIN_TENSORS_FILE];

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
