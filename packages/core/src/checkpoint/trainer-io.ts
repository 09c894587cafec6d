import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from '../errors.js';
import type { LoopPhase } from '../loop/resume-point.js';
import type { LossSpec } from '../losses.js';
import type { AnyOptimizer } from '../optimizer-seam.js';
import type { StopReason } from '../plugin.js';
import { recreateOptimizer } from './recreate-optimizer.js';
import { snapshotOf, type TrainerSnapshot } from './snapshot.js';
import {
  disposeMaps,
  type FitCheckpoint,
  readTrainerCheckpoint,
  writeTrainerCheckpoint,
} from './trainer-checkpoint.js';
import {
  applyTrainerState,
  type CollectedState,
  collectTrainerState,
  type ResumePoint,
  type TrainerStateJson,
  type TrainerStateParts,
} from './trainer-state.js';

/** What the checkpoint operations need of a trainer: its state and where its fit loop is. */
export interface CheckpointHost {
  parts(): TrainerStateParts;
  /** True while `fit()` runs (its data checks included). */
  fitRunning(): boolean;
  readonly loop: {
    readonly position: LoopPhase;
    resumePoint(inFitCall: boolean): Promise<ResumePoint>;
    restored(fit: FitCheckpoint | undefined, stopReason: StopReason | undefined): void;
    /** Why a save must not write now (a non-finite step in this fit), or undefined. */
    saveRefusal(): string | undefined;
  };
}

/** A trainer's checkpoints (DESIGN §9): write, snapshot, restore, read a directory back. */
export class TrainerCheckpoints {
  constructor(private readonly host: CheckpointHost) {}

  async save(dir: string): Promise<void> {
    const state = await this.collect();
    try {
      // Collecting read every pending step: a non-finite one keeps the last good checkpoint.
      const refusal = this.host.loop.saveRefusal();
      if (refusal !== undefined) {
        this.host.parts().logger.warn(refusal);
        return;
      }
      await writeTrainerCheckpoint(
        dir,
        state.json,
        this.host.parts().model,
        state.slots,
        state.pluginTensors,
      );
    } finally {
      tf.dispose(state.owned);
    }
  }

  async snapshot(): Promise<TrainerSnapshot> {
    return snapshotOf(await this.collect(), this.host.parts().model);
  }

  async restore(snapshot: TrainerSnapshot): Promise<void> {
    if (this.host.fitRunning() && this.host.loop.position !== 'fitEnd') {
      throw new TensorloopError(
        'TL_CHECKPOINT_INVALID',
        'restore() cannot run while a fit is running; call it after fit() returns.',
      );
    }
    const { json, weights, slots, pluginTensors } = snapshot;
    await this.apply(json, weights, slots, pluginTensors ?? {}, 'the snapshot');
  }

  /** Validate a checkpoint directory against the trainer, then apply it. Returns the fit to continue, if any. */
  async restoreFrom(dir: string): Promise<FitCheckpoint | undefined> {
    const { json, weights, slots, pluginTensors } = await readTrainerCheckpoint(dir);
    try {
      return await this.apply(json, weights, slots, pluginTensors, dir);
    } finally {
      disposeMaps(weights, slots, pluginTensors);
    }
  }

  /** Everything a checkpoint holds, at the loop's current resume point. */
  private async collect(): Promise<CollectedState> {
    const at = await this.host.loop.resumePoint(this.host.fitRunning());
    return collectTrainerState(this.host.parts(), at);
  }

  private async apply(
    json: TrainerStateJson,
    weights: tf.NamedTensorMap,
    slots: tf.NamedTensorMap,
    pluginTensors: tf.NamedTensorMap,
    where: string,
  ): Promise<FitCheckpoint | undefined> {
    const { fit, stopReason } = await applyTrainerState(
      this.host.parts(),
      json,
      weights,
      slots,
      pluginTensors,
      where,
    );
    this.host.loop.restored(fit, stopReason);
    return fit;
  }
}

/**
 * What `Trainer.load` builds a trainer from: the model (rebuilt from the saved topology unless
 * given), the optimizer (rebuilt from its saved type unless given) and the loss (a saved name, or
 * the one given: a custom loss function cannot be saved).
 */
export async function loadParts(
  dir: string,
  given: { model?: tf.LayersModel; optimizer?: AnyOptimizer; loss?: LossSpec },
): Promise<{ model: tf.LayersModel; optimizer: AnyOptimizer; loss: LossSpec }> {
  const contents = await readTrainerCheckpoint(dir);
  let model: tf.LayersModel;
  try {
    model = given.model ?? (await tf.loadLayersModel(tf.io.fromMemory(contents.modelArtifacts)));
  } finally {
    disposeMaps(contents.weights, contents.slots, contents.pluginTensors);
  }
  const loss = given.loss ?? (contents.json.loss as LossSpec | null) ?? undefined;
  if (loss === undefined) {
    throw new TensorloopError(
      'TL_LOSS_UNKNOWN',
      `${dir} was trained with a custom loss function, which a checkpoint cannot hold. Pass it again: Trainer.load(dir, { loss }).`,
    );
  }
  return { model, optimizer: given.optimizer ?? recreateOptimizer(contents.json.optimizer), loss };
}
