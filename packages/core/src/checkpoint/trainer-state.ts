import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from '../errors.js';
import { wrapHookError } from '../hooks.js';
import type { HyperparamStore } from '../hyperparams.js';
import type { AnyOptimizer } from '../optimizer-seam.js';
import type { EpochRecord, Logger, Plugin, StopReason } from '../plugin.js';
import type { SeededRandom } from '../rng.js';
import { type MutableTime, snapshotTime, type Time } from '../time.js';
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
  readonly clock: MutableTime;
  readonly history: EpochRecord[];
  readonly loss: string | null;
  readonly logger: Logger;
}

/** Where the trainer is: decided by the trainer (its fit phase), recorded as is. */
export interface ResumePoint {
  readonly time: Time;
  readonly fit: FitCheckpoint | undefined;
  readonly stopReason: StopReason | undefined;
}

export type TrainerStateJson = Omit<TrainerCheckpointJson, 'optimizerWeights'>;

/** Everything a checkpoint holds. `owned` tensors are the caller's to dispose; `slots` may be live. */
export async function collectTrainerState(
  parts: TrainerStateParts,
  at: ResumePoint,
): Promise<{ json: TrainerStateJson; slots: tf.NamedTensorMap; owned: tf.Tensor[] }> {
  const plugins: Record<string, { version: string | null; state: unknown }> = {};
  for (const p of parts.plugins) {
    if (typeof p.state !== 'function') continue;
    try {
      plugins[p.name] = { version: p.version ?? null, state: structuredClone(p.state()) };
    } catch (cause) {
      throw wrapHookError(cause, p.name, 'state', snapshotTime(parts.clock));
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
    owned: optimizer.owned,
  };
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
  where: string,
): Promise<{ fit: FitCheckpoint | undefined; stopReason: StopReason | undefined }> {
  checkOptimizerCompatible(parts.optimizer, json.optimizer);
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
    if (!parts.plugins.some((p) => p.name === name)) {
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
  Object.assign(parts.clock, json.time);
  parts.rng.setState(json.rng);
  parts.history.splice(0, parts.history.length, ...json.history);
  for (const p of parts.plugins) {
    const saved = json.plugins[p.name];
    if (!saved || typeof p.loadState !== 'function') continue;
    try {
      p.loadState(saved.state as never, saved.version ?? undefined);
    } catch (cause) {
      throw wrapHookError(cause, p.name, 'loadState', snapshotTime(parts.clock));
    }
  }
  return { fit: json.fit, stopReason: json.fit ? json.stopReason : undefined };
}
