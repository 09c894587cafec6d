import * as tf from '@tensorflow/tfjs';
import {
  type AnyOptimizer,
  describeValue,
  isTensorloopOptimizer,
  TensorloopError,
  type TensorloopOptimizer,
  type Trainer,
} from '@tensorloop/core';
import { META_TRAINER } from './names.js';
import type { StageOptimizer } from './types.js';

type SerializableClass = tf.serialization.SerializableConstructor<tf.serialization.Serializable>;

export function checkStageOptimizer(choice: unknown, where: string): StageOptimizer | undefined {
  if (choice === undefined || choice === 'reuse' || choice === 'new') return choice;
  if (
    typeof choice === 'object' &&
    choice !== null &&
    typeof (choice as { applyGradients?: unknown }).applyGradients === 'function'
  ) {
    return choice as AnyOptimizer;
  }
  throw new TensorloopError(
    'TL_OPTIMIZER_INVALID',
    `[${META_TRAINER}] ${where}.optimizer must be 'reuse', 'new' or an optimizer (tf.train.adam(), adamw({...})); got ${describeValue(choice)}.`,
    { plugin: META_TRAINER },
  );
}

/**
 * The optimizers of a multi-stage run. `'new'` resets a tensorloop optimizer's state in place (same
 * groups and hyperparameters, no slots, step counts 0) and replaces a tfjs optimizer by a fresh one
 * of its class and config (its learning rate: the store's base). Optimizers made here are disposed
 * when they are replaced; the ones you pass stay yours.
 */
export class StageOptimizers {
  private readonly created = new Set<AnyOptimizer>();

  constructor(private readonly trainer: Trainer) {}

  /** Before a stage (or one of its fits). */
  apply(choice: StageOptimizer | undefined): void {
    if (choice === undefined || choice === 'reuse') return;
    const current = this.trainer.optimizer;
    if (choice !== 'new') this.use(choice);
    else if (isTensorloopOptimizer(current)) resetInPlace(current as unknown as TensorloopOptimizer);
    else this.use(this.freshCopy(current as tf.Optimizer));
  }

  /**
   * Put back the optimizer the run had after the choices of the stages so far (a run resumed in a
   * fresh process): a checkpoint restores its state, not which object it was.
   */
  restoreThrough(choices: readonly (StageOptimizer | undefined)[]): void {
    let current = this.trainer.optimizer;
    for (const choice of choices) {
      if (choice === undefined || choice === 'reuse') continue;
      if (choice === 'new') {
        // A tensorloop optimizer is reset in place (the checkpoint brings its state back); a tfjs one
        // was replaced by a copy of its class.
        if (!isTensorloopOptimizer(current)) current = this.freshCopy(current as tf.Optimizer);
      } else {
        current = choice;
      }
    }
    this.use(current);
    for (const made of [...this.created]) {
      if (made !== current) this.drop(made);
    }
  }

  /** Dispose what this made and the trainer no longer uses. */
  dispose(): void {
    for (const made of [...this.created]) if (made !== this.trainer.optimizer) this.drop(made);
  }

  private use(next: AnyOptimizer): void {
    const previous = this.trainer.setOptimizer(next);
    if (previous !== next && this.created.has(previous)) this.drop(previous);
  }

  private drop(optimizer: AnyOptimizer): void {
    this.created.delete(optimizer);
    optimizer.dispose();
  }

  private freshCopy(optimizer: tf.Optimizer): tf.Optimizer {
    const cls = optimizer.constructor as unknown as SerializableClass;
    const config: tf.serialization.ConfigDict = { ...optimizer.getConfig() };
    if ('learningRate' in config)
      config.learningRate = this.trainer.hparams.explain('lr', { group: 'default' }).base;
    const copy = cls.fromConfig(cls, config) as unknown as tf.Optimizer;
    this.created.add(copy);
    return copy;
  }
}

function resetInPlace(optimizer: TensorloopOptimizer): void {
  const { meta, slots } = optimizer.getState();
  tf.dispose(Object.values(slots));
  optimizer.setState({ meta: { ...meta, steps: {} }, slots: {} });
}
