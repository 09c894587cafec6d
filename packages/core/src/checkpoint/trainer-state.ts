import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from '../errors.js';
import { wrapHookError } from '../hooks.js';
import type { HyperparamStore } from '../hyperparams.js';
import type { AnyOptimizer } from '../optimizer-seam.js';
import type { EpochRecord, Logger, Plugin, StopReason } from '../plugin.js';
import { formerPluginNames } from '../plugin-aliases.js';
import type { SeededRandom } from '../rng.js';
import { type Clock, snapshotTime, type Time } from '../time.js';
import type { LayerVariableLike, TrainableWeight } from '../variables.js';
import { CORE_VERSION } from '../version.js';
import { checkOptimizerCompatible, restoreOptimizer, snapshotOptimizer } from './optimizer-state.js';
import {
  type FitCheckpoint,
  TRAINER_FORMAT,
  TRAINER_FORMAT_VERSION,
  type TrainerCheckpointJson,
} from './trainer-checkpoint.js';

/** What of a trainer a checkpoint reads and writes (everything but where in a fit it is). */
export interface TrainerStateParts {
  readonly model: tf.LayersModel;
  readonly optimizer: AnyOptimizer;
  readonly weights: readonly TrainableWeight[];
  readonly plugins: readonly Plugin[];
  readonly store: HyperparamStore;
  readonly rng: SeededRandom;
  readonly clock: Clock;
  readonly history: EpochRecord[];
  readonly loss: string | null;
  readonly logger: Logger;
}

/** Where the trainer is: decided by the fit loop (`loop/resume-point.ts`), recorded as is. */
export interface ResumePoint {
  readonly time: Time;
  readonly fit: FitCheckpoint | undefined;
  readonly stopReason: StopReason | undefined;
}

export type TrainerStateJson = Omit<TrainerCheckpointJson, 'optimizerWeights' | 'pluginWeights'>;

/** The key of a plugin's tensor in the checkpoint's plugin tensor file. */
export const pluginTensorKey = (plugin: string, tensor: string): string => `${plugin}::${tensor}`;

export interface CollectedState {
  readonly json: TrainerStateJson;
  /** Optimizer slots by `${weight}/${slot}` (may be live: read them, do not keep them). */
  readonly slots: tf.NamedTensorMap;
  /** Tensors plugins returned from `stateTensors()`, by `pluginTensorKey` (the plugins' own: do not dispose). */
  readonly pluginTensors: tf.NamedTensorMap;
  /** Tensors made for this collection: the caller disposes them. */
  readonly owned: tf.Tensor[];
}

/** Everything a checkpoint holds. `owned` tensors are the caller's to dispose; `slots` may be live. */
export async function collectTrainerState(
  parts: TrainerStateParts,
  at: ResumePoint,
): Promise<CollectedState> {
  const plugins: Record<string, { version: string | null; state: unknown; tensors?: string[] }> = {};
  const pluginTensors: tf.NamedTensorMap = {};
  for (const p of parts.plugins) {
    if (typeof p.state !== 'function') continue;
    try {
      const json = p.state();
      const tensors = p.stateTensors?.() ?? {};
      const names = Object.keys(tensors);
      plugins[p.name] = {
        version: p.version ?? null,
        state: structuredClone(json),
        ...(names.length > 0 ? { tensors: names } : {}),
      };
      for (const name of names) pluginTensors[pluginTensorKey(p.name, name)] = tensors[name]!;
    } catch (cause) {
      throw wrapHookError(cause, p.name, 'state', snapshotTime(parts.clock.time));
    }
  }
  const optimizer = await snapshotOptimizer(parts.optimizer, parts.weights);
  return {
    json: {
      format: TRAINER_FORMAT,
      formatVersion: TRAINER_FORMAT_VERSION,
      coreVersion: CORE_VERSION,
      savedAt: new Date().toISOString(),
      time: at.time,
      rng: parts.rng.getState(),
      fit: at.fit,
      stopReason: at.stopReason,
      history: parts.history.map((h) => ({ ...h, logs: { ...h.logs } })),
      hparams: parts.store.getState(),
      frozen: parts.weights.filter((w) => !w.layerVariable.trainable).map((w) => w.name),
      optimizer: optimizer.saved,
      plugins,
      loss: parts.loss,
    },
    slots: optimizer.slots,
    pluginTensors,
    owned: optimizer.owned,
  };
}

type SavedPlugin = TrainerStateJson['plugins'][string];

/** The state saved for a plugin, under its name or a name it had before (`plugin-aliases.ts`). */
function savedStateOf(
  json: TrainerStateJson,
  plugin: Plugin,
): { key: string; saved: SavedPlugin } | undefined {
  for (const key of [plugin.name, ...formerPluginNames(plugin.name)]) {
    const saved = json.plugins[key];
    if (saved) return { key, saved };
  }
  return undefined;
}

/** Every registered plugin's saved state, through its `parseState` when it has one. */
function parsePluginStates(
  parts: TrainerStateParts,
  json: TrainerStateJson,
  pluginTensors: tf.NamedTensorMap,
): { plugin: Plugin; state: unknown; version: string | undefined; tensors: tf.NamedTensorMap }[] {
  const parsed = [];
  for (const p of parts.plugins) {
    const found = savedStateOf(json, p);
    if (!found || typeof p.loadState !== 'function') continue;
    const version = found.saved.version ?? undefined;
    let state: unknown = found.saved.state;
    if (typeof p.parseState === 'function') {
      try {
        state = p.parseState(found.saved.state, version);
      } catch (cause) {
        if (cause instanceof TensorloopError) throw cause;
        throw new TensorloopError(
          'TL_CHECKPOINT_INVALID',
          `[${p.name}] the checkpoint's state for this plugin was refused by its parseState: ${(cause as Error)?.message ?? String(cause)}`,
          { plugin: p.name, cause },
        );
      }
    }
    const tensors: tf.NamedTensorMap = {};
    for (const name of found.saved.tensors ?? []) {
      const t = pluginTensors[pluginTensorKey(found.key, name)];
      if (!t) {
        throw new TensorloopError(
          'TL_CHECKPOINT_CORRUPT',
          `[${p.name}] the checkpoint's state names tensor "${name}", which its plugin tensor file does not hold. Resume from another checkpoint.`,
          { plugin: p.name },
        );
      }
      tensors[name] = t;
    }
    parsed.push({ plugin: p, state, version, tensors });
  }
  return parsed;
}

/**
 * Validate saved state against the trainer (architecture, optimizer type) before changing anything,
 * then apply it: weights, frozen set, optimizer state, hyperparameters, time, RNG, history, plugin
 * state. Returns the fit to continue (if any) and its stop reason.
 */
export async function applyTrainerState(
  parts: TrainerStateParts,
  json: TrainerStateJson,
  weights: tf.NamedTensorMap,
  slots: tf.NamedTensorMap,
  pluginTensors: tf.NamedTensorMap,
  where: string,
): Promise<{ fit: FitCheckpoint | undefined; stopReason: StopReason | undefined }> {
  checkOptimizerCompatible(parts.optimizer, json.optimizer);
  const pluginStates = parsePluginStates(parts, json, pluginTensors);
  const modelWeights = parts.model.weights as unknown as (LayerVariableLike & {
    shape: number[];
    write(t: tf.Tensor): void;
  })[];
  for (const lv of modelWeights) {
    const saved = weights[lv.originalName];
    if (!saved || !tf.util.arraysEqual(saved.shape, lv.shape)) {
      throw new TensorloopError(
        'TL_CHECKPOINT_INVALID',
        `${where} does not fit this model: weight "${lv.originalName}" ${saved ? `has shape [${saved.shape}] in the checkpoint but [${lv.shape}] in the model` : 'is missing from the checkpoint'}. Resume with the model architecture (and layer names) the checkpoint was saved from.`,
      );
    }
  }
  for (const name of Object.keys(json.plugins)) {
    if (!parts.plugins.some((p) => p.name === name || formerPluginNames(p.name).includes(name))) {
      parts.logger.warn(
        `the checkpoint holds state for plugin "${name}", which is not registered; it is ignored.`,
      );
    }
  }
  for (const lv of modelWeights) lv.write(weights[lv.originalName]!);
  const frozen = new Set(json.frozen);
  for (const w of parts.weights) w.layerVariable.trainable = !frozen.has(w.name);
  await restoreOptimizer(parts.optimizer, parts.weights, json.optimizer, slots);
  parts.store.setState(json.hparams);
  parts.clock.restore(json.time);
  parts.rng.setState(json.rng);
  parts.history.splice(0, parts.history.length, ...json.history);
  for (const { plugin, state, version, tensors } of pluginStates) {
    try {
      plugin.loadState!(state as never, version, tensors);
    } catch (cause) {
      throw wrapHookError(cause, plugin.name, 'loadState', snapshotTime(parts.clock.time));
    }
  }
  return { fit: json.fit, stopReason: json.fit ? json.stopReason : undefined };
}
