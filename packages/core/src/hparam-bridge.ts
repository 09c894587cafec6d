import type * as tf from '@tensorflow/tfjs';
import { TensorloopError } from './errors.js';
import type { HyperparamStore } from './hyperparams.js';
import type { TensorloopOptimizer } from './optim/types.js';
import { type AnyOptimizer, isTensorloopOptimizer } from './optimizer-seam.js';

interface TfjsLr {
  learningRate?: unknown;
  setLearningRate?: (lr: number) => void;
}

/** tfjs optimizers: read the learning rate they were built with (a protected field in every class). */
function readTfjsLr(opt: tf.Optimizer): number {
  const lr = (opt as unknown as TfjsLr).learningRate;
  if (typeof lr !== 'number') {
    throw new TensorloopError(
      'TL_OPTIMIZER_INVALID',
      `The tfjs optimizer ${opt.getClassName()} has no numeric learningRate, so the hyperparameter store cannot drive it.`,
    );
  }
  return lr;
}

/**
 * tfjs optimizers: SGD and Momentum only honour `setLearningRate` (they cache a scalar); the others
 * read the `learningRate` field every step (research/tfjs.md §2.1).
 */
function writeTfjsLr(opt: tf.Optimizer, lr: number): void {
  const o = opt as unknown as TfjsLr;
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/**
 * Keeps an optimizer's hyperparameters equal to the store's effective values. The store is the
 * source of truth: plugins write it; before every optimizer step the bridge pushes changed values
 * into the optimizer's param groups (no rebuild, no recompile).
 */
export class OptimizerHparamBridge {
  private syncedVersion = -1;
  private syncedGroups = 0;
  /** Learning rate per group as pushed at the last optimizer step (for the epoch logs). */
  private stepLr: Map<string, number> | undefined;

  /**
   * `replaceBases`: the optimizer's hyperparameters become the base values even where the store
   * already has them (an optimizer set between fits); values writers set still win.
   */
  constructor(
    private readonly store: HyperparamStore,
    private readonly optimizer: AnyOptimizer,
    replaceBases = false,
  ) {
    this.defineFromOptimizer(replaceBases);
  }

  private defineFromOptimizer(replaceBases: boolean): void {
    const opt = this.optimizer;
    if (isTensorloopOptimizer(opt)) {
      const groups = (opt as TensorloopOptimizer).groups;
      if (replaceBases) {
        for (const g of groups) {
          for (const [name, value] of Object.entries(g.hparams))
            this.store.define(name, value, { group: g.name });
        }
      }
      this.store.defineGroups(groups);
      this.syncedGroups = groups.length;
    } else {
      this.store.define('lr', readTfjsLr(opt), {
        group: 'default',
        description: `learning rate of tfjs ${opt.getClassName()}`,
      });
    }
  }

  /** Push the store's values into the optimizer if anything changed since the last step. */
  sync(): void {
    const opt = this.optimizer;
    if (isTensorloopOptimizer(opt)) {
      const groups = (opt as TensorloopOptimizer).groups;
      if (groups.length !== this.syncedGroups) {
        // A plugin added a param group while training (finetune scheduler thawing layers).
        this.store.defineGroups(groups);
        this.syncedGroups = groups.length;
      }
      if (this.store.version === this.syncedVersion) return;
      this.store.applyToGroups(groups);
    } else {
      if (this.store.version === this.syncedVersion) return;
      writeTfjsLr(opt, this.store.get('lr', { group: 'default' }));
    }
    this.syncedVersion = this.store.version;
    this.stepLr = this.currentLr();
  }

  /**
   * `lr` (the default group, as Keras's `learning_rate` in history) and `lr/<group>` for the other
   * groups, as the last optimizer step used them (the current values before any step). Host
   * numbers: no device read-back.
   */
  lrLogs(): Record<string, number> {
    const byGroup = this.stepLr ?? this.currentLr();
    const logs: Record<string, number> = {};
    const main = byGroup.has('default') ? 'default' : [...byGroup.keys()][0];
    for (const [group, lr] of byGroup) logs[group === main ? 'lr' : `lr/${group}`] = lr;
    return logs;
  }

  private currentLr(): Map<string, number> {
    const groups = isTensorloopOptimizer(this.optimizer)
      ? (this.optimizer as TensorloopOptimizer).groups.map((g) => g.name)
      : ['default'];
    return new Map(
      groups
        .filter((g) => this.store.has('lr', { group: g }))
        .map((g) => [g, this.store.get('lr', { group: g })]),
    );
  }
}
