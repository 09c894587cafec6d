import * as tf from '@tensorflow/tfjs';
import { describeValue } from '../describe-value.js';
import { TensorloopError } from '../errors.js';
import {
  BIAS_AND_NORM,
  checkOptionKeys,
  GroupTable,
  type GroupTableConfig,
  type HparamRange,
  NO_DECAY_GROUP,
  validateHparam,
} from './param-groups.js';
import type {
  NamedVariable,
  OptimizerState,
  OptimizerStateMeta,
  OptimizerType,
  ParamGroup,
  ParamGroupSpec,
  TensorloopOptimizer,
} from './types.js';

export const STATE_FORMAT = 'tensorloop-optimizer@1';

/** Slots of one variable, created on first write and owned by the optimizer. */
export interface SlotAccess {
  get(slot: string): tf.Variable | undefined;
  /**
   * Assigns `value`, creating the slot first if needed. A new slot is created from `initial` (zeros
   * when omitted: what a missing slot means to the update rule) and then assigned, so that an update
   * skipped by a device step gate leaves it at `initial`. Both may be temporaries of the tidy.
   */
  set(slot: string, value: tf.Tensor, initial?: tf.Tensor): void;
}

/** What an update rule sees for one variable in one step (inside a tidy). */
export interface StepContext {
  readonly param: tf.Variable;
  readonly grad: tf.Tensor;
  /** The group's live hyperparameters, plain numbers. */
  readonly hparams: Readonly<Record<string, number>>;
  /** This variable's step, 1 on its first update. */
  readonly step: number;
  readonly slots: SlotAccess;
  /** A float32 scalar for a host number, shared by every variable in this call. */
  readonly scalar: (value: number) => tf.Scalar;
}

export interface UpdateRule {
  readonly type: OptimizerType;
  /** Every slot name the rule may create (used to validate restored state). */
  readonly slotNames: readonly string[];
  /** Options fixed at construction, recorded in the state. */
  readonly options: Readonly<Record<string, number | boolean>>;
  /** Computes the new slots and the new value of `ctx.param`, and assigns them. */
  update(ctx: StepContext): void;
  /**
   * Updates every weight of one `applyGradients` call at once through a backend's fused kernel
   * (see fused.ts), with the same results as `update` on each. Returns false, having changed
   * nothing, when it cannot (no such kernel on this backend); `update` then runs per weight.
   */
  fusedUpdate?(items: readonly StepContext[]): boolean;
}

export interface OptimizerDefinition extends UpdateRule {
  readonly defaults: Readonly<Record<string, number>>;
  readonly ranges: Readonly<Record<string, HparamRange>>;
  readonly checkGroup?: GroupTableConfig['checkGroup'];
  readonly groups?: readonly ParamGroupSpec[] | undefined;
  readonly noDecay?: 'bias-and-norm' | undefined;
}

/** Options every optimizer factory accepts besides its hyperparameters. */
export interface CommonOptimizerOptions {
  /** Param groups; the first whose `match` accepts a weight name wins, the rest form the default group. */
  groups?: ParamGroupSpec[];
  /** `'bias-and-norm'` adds a first group `'no-decay'` with `weightDecay: 0` for biases and norm gamma/beta. */
  noDecay?: 'bias-and-norm';
}

export const COMMON_OPTION_KEYS = ['groups', 'noDecay'] as const;

/** Validates option keys and each given hyperparameter, returning the merged defaults. */
export function resolveDefaults(
  type: OptimizerType,
  opts: object,
  hparamDefaults: Readonly<Record<string, number>>,
  ranges: Readonly<Record<string, HparamRange>>,
  flagKeys: readonly string[],
  otherKeys: readonly string[] = [],
): Record<string, number> {
  if (opts === null || typeof opts !== 'object') {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `${type}: options must be an object, got ${describeValue(opts)}.`,
    );
  }
  checkOptionKeys(opts, [...Object.keys(ranges), ...flagKeys, ...otherKeys, ...COMMON_OPTION_KEYS], type);
  const given = opts as Record<string, unknown>;
  const defaults: Record<string, number> = {};
  for (const [key, fallback] of Object.entries(hparamDefaults)) {
    const value = given[key] ?? fallback;
    defaults[key] = validateHparam(key, value, ranges[key] ?? 'finite', `${type}()`);
  }
  for (const key of flagKeys) {
    const value = given[key];
    if (value !== undefined && typeof value !== 'boolean') {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `${type}(): \`${key}\` must be a boolean, got ${describeValue(value)}.`,
      );
    }
  }
  return defaults;
}

class NamedOptimizer implements TensorloopOptimizer {
  readonly kind = 'tensorloop' as const;
  readonly type: OptimizerType;
  readonly hyperparameterNames: readonly string[];
  readonly defaults: Readonly<Record<string, number>>;
  private readonly table: GroupTable;
  private readonly variables = new Map<string, tf.Variable>();
  private readonly slots = new Map<string, Map<string, tf.Variable>>();
  private readonly steps = new Map<string, number>();

  constructor(private readonly def: OptimizerDefinition) {
    this.type = def.type;
    this.defaults = Object.freeze({ ...def.defaults });
    this.hyperparameterNames = Object.freeze(Object.keys(def.defaults));
    def.checkGroup?.(def.defaults, `${def.type}()`);
    const specs: ParamGroupSpec[] = [];
    if (def.noDecay !== undefined) {
      if (def.noDecay !== 'bias-and-norm') {
        throw new TensorloopError(
          'TL_OPTION_INVALID',
          `${def.type}(): \`noDecay\` must be 'bias-and-norm' or omitted, got ${describeValue(def.noDecay)}.`,
        );
      }
      specs.push({ name: NO_DECAY_GROUP, match: BIAS_AND_NORM, weightDecay: 0 });
    }
    if (def.groups !== undefined && !Array.isArray(def.groups)) {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `${def.type}(): \`groups\` must be an array of { match, ...hyperparameters }.`,
      );
    }
    specs.push(...(def.groups ?? []));
    this.table = new GroupTable(
      { type: def.type, defaults: def.defaults, ranges: def.ranges, checkGroup: def.checkGroup },
      specs,
    );
  }

  get groups(): readonly ParamGroup[] {
    return this.table.groups;
  }

  bind(variables: readonly NamedVariable[]): void {
    this.table.bind(variables.map((v) => v.name));
    for (const { name, variable } of variables) this.variables.set(name, variable);
  }

  addGroup(spec: ParamGroupSpec): ParamGroup {
    return this.table.add(spec);
  }

  groupOf(variableName: string): ParamGroup {
    return this.table.groupOf(variableName);
  }

  stepOf(variableName: string): number {
    this.table.lookup(variableName);
    return this.steps.get(variableName) ?? 0;
  }

  applyGradients(grads: ReadonlyMap<string, tf.Tensor>): void {
    // Check every name first so a bad map changes nothing.
    for (const name of grads.keys()) this.table.lookup(name);
    tf.tidy(() => {
      const scalars = new Map<number, tf.Scalar>();
      const scalar = (value: number): tf.Scalar => {
        let s = scalars.get(value);
        if (s === undefined) {
          s = tf.scalar(value, 'float32');
          scalars.set(value, s);
        }
        return s;
      };
      const items: StepContext[] = [];
      for (const [name, grad] of grads) {
        if (grad === null || grad === undefined) continue;
        const step = (this.steps.get(name) ?? 0) + 1;
        this.steps.set(name, step);
        items.push({
          param: this.variables.get(name)!,
          grad,
          hparams: this.table.lookup(name).hparams,
          step,
          slots: this.slotAccess(name),
          scalar,
        });
      }
      if (this.def.fusedUpdate?.(items) === true) return;
      for (const item of items) this.def.update(item);
    });
  }

  discardSteps(variables: readonly string[], count: number): void {
    for (const name of variables) {
      const step = (this.steps.get(name) ?? 0) - count;
      if (step <= 0) this.steps.delete(name);
      else this.steps.set(name, step);
    }
  }

  getState(): OptimizerState {
    const slots: Record<string, tf.Tensor> = {};
    for (const [variable, byName] of this.slots) {
      for (const [slot, value] of byName) slots[`${variable}/${slot}`] = tf.clone(value);
    }
    const meta: OptimizerStateMeta = {
      format: STATE_FORMAT,
      type: this.type,
      options: { ...this.def.options },
      groups: this.table.groups.map((g) => ({
        name: g.name,
        hparams: { ...g.hparams },
        variables: [...g.variables],
      })),
      steps: Object.fromEntries(this.steps),
    };
    return { meta, slots };
  }

  setState(state: OptimizerState): void {
    const fail = (message: string): never => {
      throw new TensorloopError('TL_CHECKPOINT_INVALID', `${this.type}.setState: ${message}`);
    };
    if (!this.table.bound) fail('call bind() with the trainer variable list before restoring state.');
    if (
      state === null ||
      typeof state !== 'object' ||
      state.meta === null ||
      typeof state.meta !== 'object'
    ) {
      fail('expected { meta, slots } as returned by getState().');
    }
    const { meta } = state;
    if (meta.format !== STATE_FORMAT)
      fail(`unknown format ${describeValue(meta.format)}, expected '${STATE_FORMAT}'.`);
    if (meta.type !== this.type) {
      fail(
        `the state is from a '${meta.type}' optimizer; restore it into ${meta.type}(...), not ${this.type}().`,
      );
    }
    this.table.checkSaved(meta.groups, fail);
    if (meta.steps === null || typeof meta.steps !== 'object') fail('`meta.steps` must be an object.');
    for (const [name, step] of Object.entries(meta.steps)) {
      if (!this.table.has(name)) fail(this.unknownVariable(name));
      if (!Number.isInteger(step) || step < 0)
        fail(`step of '${name}' must be an integer >= 0, got ${step}.`);
    }
    const restored: [string, string, tf.Tensor][] = [];
    if (state.slots === null || typeof state.slots !== 'object')
      fail('`slots` must be an object of tensors.');
    for (const [key, tensor] of Object.entries(state.slots)) {
      const cut = key.lastIndexOf('/');
      const variable = key.slice(0, cut);
      const slot = key.slice(cut + 1);
      if (cut < 0 || !this.def.slotNames.includes(slot)) {
        fail(
          `slot key '${key}' is not '<variable>/<slot>' with a ${this.type} slot (${this.def.slotNames.join(', ')}).`,
        );
      }
      if (!this.table.has(variable)) fail(this.unknownVariable(variable));
      if (!(tensor instanceof tf.Tensor) || tensor.isDisposed) fail(`slot '${key}' is not a live tensor.`);
      const expected = this.variables.get(variable)!.shape;
      if (!tf.util.arraysEqual(tensor.shape, expected)) {
        fail(`slot '${key}' has shape [${tensor.shape}], the variable has [${expected}].`);
      }
      restored.push([variable, slot, tensor]);
    }

    this.disposeSlots();
    this.steps.clear();
    for (const [name, step] of Object.entries(meta.steps)) this.steps.set(name, step);
    for (const [variable, slot, tensor] of restored) {
      // A variable shares the tensor's storage (tfjs data is immutable), so the caller may dispose it.
      this.slotMap(variable).set(slot, tf.variable(tensor, false, undefined, 'float32'));
    }
    this.table.restore(meta.groups);
  }

  dispose(): void {
    this.disposeSlots();
  }

  private unknownVariable(name: string): string {
    return (
      `the state names variable '${name}', which is not bound here (${this.table.variableNames.join(', ')}). ` +
      'Restore into an optimizer bound to the same model (names are weight originalNames).'
    );
  }

  private disposeSlots(): void {
    for (const byName of this.slots.values()) for (const v of byName.values()) v.dispose();
    this.slots.clear();
  }

  private slotMap(variable: string): Map<string, tf.Variable> {
    let byName = this.slots.get(variable);
    if (byName === undefined) {
      byName = new Map();
      this.slots.set(variable, byName);
    }
    return byName;
  }

  private slotAccess(variable: string): SlotAccess {
    const byName = this.slotMap(variable);
    return {
      get: (slot) => byName.get(slot),
      set: (slot, value, initial) => {
        let target = byName.get(slot);
        if (target === undefined) {
          target = tf.variable(initial ?? tf.zerosLike(value), false);
          byName.set(slot, target);
        }
        target.assign(value);
      },
    };
  }
}

export function createOptimizer(def: OptimizerDefinition): TensorloopOptimizer {
  return new NamedOptimizer(def);
}
