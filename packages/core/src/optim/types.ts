import type * as tf from '@tensorflow/tfjs';

/** A variable with the stable name the optimizer keys its state by (a weight's `originalName`). */
export interface NamedVariable {
  /** e.g. `'dense_Dense1/kernel'`; unique within one bound list. */
  readonly name: string;
  readonly variable: tf.Variable;
}

/**
 * Selects variables by name: a RegExp, a string (matches when equal to the name, or when the string,
 * read as a regex source, matches it), or a predicate.
 */
export type ParamMatcher = RegExp | string | ((name: string) => boolean);

export interface ParamGroupSpec {
  /** Unique group name; `group<index>` when omitted. `'default'` is reserved. */
  name?: string;
  match: ParamMatcher;
  lr?: number;
  weightDecay?: number;
  /** Any other hyperparameter of the optimizer (`momentum`, `beta1`, `beta2`, `eps`, `alpha`, ...). */
  [hparam: string]: unknown;
}

export interface ParamGroup {
  readonly name: string;
  /** Position in `optimizer.groups`; the default group is always last. */
  readonly index: number;
  /**
   * Live hyperparameters, read on every `applyGradients`: writing `group.hparams.lr = x` takes effect
   * on the next step.
   */
  readonly hparams: Record<string, number>;
  /** Names of the bound variables in this group, in bind order. */
  readonly variables: readonly string[];
}

export type OptimizerType = 'sgd' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad';

/** JSON-able part of an optimizer's state. */
export interface OptimizerStateMeta {
  readonly format: 'tensorloop-optimizer@1';
  readonly type: OptimizerType;
  /** Boolean/structural options fixed at construction (`nesterov`, `amsgrad`, `centered`, ...). */
  readonly options: Readonly<Record<string, number | boolean>>;
  readonly groups: readonly {
    readonly name: string;
    readonly hparams: Readonly<Record<string, number>>;
    readonly variables: readonly string[];
  }[];
  /** Optimizer steps taken per variable (variables never stepped are absent). */
  readonly steps: Readonly<Record<string, number>>;
}

export interface OptimizerState {
  readonly meta: OptimizerStateMeta;
  /** Slot tensors keyed `${variableName}/${slotName}`. */
  readonly slots: Readonly<Record<string, tf.Tensor>>;
}

export interface TensorloopOptimizer {
  readonly kind: 'tensorloop';
  readonly type: OptimizerType;
  /** Param groups; the default group (named `'default'`) is last. */
  readonly groups: readonly ParamGroup[];
  /** Hyperparameters every group carries, e.g. `['lr', 'beta1', 'beta2', 'eps', 'weightDecay']`. */
  readonly hyperparameterNames: readonly string[];
  /** The optimizer-wide defaults a group falls back to (what `addGroup` uses for unset hparams). */
  readonly defaults: Readonly<Record<string, number>>;
  /**
   * Binds the trainer's fixed, ordered variable list (once; binding the same names again is a no-op).
   * Each variable joins the first group whose matcher accepts its name, else the default group.
   */
  bind(variables: readonly NamedVariable[]): void;
  /**
   * Adds a group before the default group. After `bind`, matching variables move out of the default
   * group only (variables in other explicit groups stay); their slots and step counts are kept.
   */
  addGroup(spec: ParamGroupSpec): ParamGroup;
  groupOf(variableName: string): ParamGroup;
  /** Steps taken by one variable (0 before its first gradient). */
  stepOf(variableName: string): number;
  /**
   * One update. Call inside a `tf.tidy` (it opens its own as well). A variable absent from the map
   * (frozen) is not touched and its step count does not advance.
   */
  applyGradients(grads: ReadonlyMap<string, tf.Tensor>): void;
  /**
   * The update that advanced these variables' step counts was skipped on the device (a step gate
   * with `stepGate: 'device'`, learnt at a later read-back) `count` times: their step counts go back.
   */
  discardSteps(variables: readonly string[], count: number): void;
  /**
   * A snapshot. The slot tensors are clones the caller owns and must dispose (cheap: they share
   * storage with the live slots until the next update replaces them). Call outside a `tf.tidy`, or
   * `tf.keep` them.
   */
  getState(): OptimizerState;
  /**
   * Restores a snapshot by variable name (call after `bind`). Replaces all slots and step counts
   * (replaced slots are disposed), restores group hyperparameters and membership, and recreates
   * groups that were added at runtime. The caller keeps ownership of `state.slots`.
   */
  setState(state: OptimizerState): void;
  /** Disposes every slot. */
  dispose(): void;
}
