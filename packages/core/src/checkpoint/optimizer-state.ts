import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from '../errors.js';
import type { OptimizerStateMeta, TensorloopOptimizer } from '../optim/types.js';
import { type AnyOptimizer, isTensorloopOptimizer } from '../optimizer-seam.js';
import type { TrainableWeight } from '../variables.js';

/** The JSON part of a saved optimizer; slot tensors go to `optimizer.bin` under `weightSpecs`. */
export type SavedOptimizer =
  | { readonly kind: 'tensorloop'; readonly meta: OptimizerStateMeta }
  | {
      readonly kind: 'tfjs';
      readonly className: string;
      readonly config: tf.serialization.ConfigDict;
      /** The optimizer's iteration count (Adam's bias correction is derived from it). */
      readonly iterations: number;
      /** Slot kinds in the order tfjs lists them (`m`, `v` for Adam). */
      readonly slotKinds: readonly string[];
      /**
       * Adam's running beta powers, exactly as the optimizer holds them: tfjs's setWeights recomputes
       * them with pow(), whose float32 rounding differs from the running product (a 1e-5 drift).
       */
      readonly accumulators?: Readonly<Record<string, number>>;
    };

export interface EncodedOptimizer {
  readonly saved: SavedOptimizer;
  /** Slots keyed `${weightName}/${slot}` (weight names, not tfjs's uniquified variable names). */
  readonly slots: tf.NamedTensorMap;
  /** Tensors created for the snapshot; dispose after encoding. */
  readonly owned: tf.Tensor[];
}

/** tfjs optimizer fields that carry state outside getWeights (Adam's beta powers). */
const ACCUMULATOR_FIELDS = ['accBeta1', 'accBeta2'] as const;

function splitSlotName(name: string): [string, string] | undefined {
  const cut = name.lastIndexOf('/');
  return cut <= 0 ? undefined : [name.slice(0, cut), name.slice(cut + 1)];
}

/** Snapshot an optimizer's state keyed by weight names (stable across processes). */
export async function snapshotOptimizer(
  optimizer: AnyOptimizer,
  weights: readonly TrainableWeight[],
): Promise<EncodedOptimizer> {
  if (isTensorloopOptimizer(optimizer)) {
    const state = (optimizer as TensorloopOptimizer).getState();
    return {
      saved: { kind: 'tensorloop', meta: state.meta },
      slots: { ...state.slots },
      owned: Object.values(state.slots),
    };
  }
  const byVariable = new Map(weights.map((w) => [w.variable.name, w.name]));
  let list: { name: string; tensor: tf.Tensor }[];
  try {
    list = await optimizer.getWeights();
  } catch (cause) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `tfjs ${optimizer.getClassName()} cannot export its state (${(cause as Error)?.message ?? cause}), so it cannot be checkpointed. Use a core optimizer (adam, adamw, sgd, rmsprop, adagrad) or another tfjs optimizer.`,
      { cause },
    );
  }
  const slots: tf.NamedTensorMap = {};
  const slotKinds: string[] = [];
  let iterations = 0;
  const owned: tf.Tensor[] = [];
  for (const { name, tensor } of list) {
    if (name === 'iter') {
      iterations = (await tensor.data())[0] ?? 0;
      owned.push(tensor); // a new scalar each call (tfjs#8238): ours to dispose
      continue;
    }
    const parts = splitSlotName(name);
    const weight = parts && byVariable.get(parts[0]);
    if (!parts || !weight) {
      throw new TensorloopError(
        'TL_CHECKPOINT_INVALID',
        `The tfjs optimizer holds a slot "${name}" for a variable the trainer does not train; it cannot be saved by weight name.`,
      );
    }
    if (!slotKinds.includes(parts[1])) slotKinds.push(parts[1]);
    slots[`${weight}/${parts[1]}`] = tensor; // live slot variable: read by encodeWeights, not disposed
  }
  const accumulators: Record<string, number> = {};
  for (const field of ACCUMULATOR_FIELDS) {
    const v = (optimizer as unknown as Record<string, unknown>)[field];
    if (v instanceof tf.Variable) accumulators[field] = (await v.data())[0]!;
  }
  return {
    saved: {
      kind: 'tfjs',
      className: optimizer.getClassName(),
      config: optimizer.getConfig(),
      iterations,
      slotKinds,
      accumulators,
    },
    slots,
    owned,
  };
}

export function describeOptimizer(optimizer: AnyOptimizer): string {
  return isTensorloopOptimizer(optimizer)
    ? `tensorloop ${(optimizer as TensorloopOptimizer).type}`
    : `tfjs ${optimizer.getClassName()}`;
}

/** Refuse (before anything changes) a saved state that this optimizer cannot take. */
export function checkOptimizerCompatible(optimizer: AnyOptimizer, saved: SavedOptimizer): void {
  const current = describeOptimizer(optimizer);
  const savedName = saved.kind === 'tensorloop' ? `tensorloop ${saved.meta.type}` : `tfjs ${saved.className}`;
  if (current !== savedName) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `The checkpoint holds the state of a ${savedName} optimizer, but this trainer uses a ${current}. Resume with the same optimizer type (or load the weights alone with a fresh trainer).`,
    );
  }
}

/**
 * Restore optimizer state by weight name. `slots` stay owned by the caller (dispose them afterwards):
 * both kinds keep copies.
 */
export async function restoreOptimizer(
  optimizer: AnyOptimizer,
  weights: readonly TrainableWeight[],
  saved: SavedOptimizer,
  slots: tf.NamedTensorMap,
): Promise<void> {
  if (saved.kind === 'tensorloop') {
    (optimizer as TensorloopOptimizer).setState({ meta: saved.meta, slots });
    return;
  }
  const tfOptimizer = optimizer as tf.Optimizer;
  // tfjs's setWeights is positional (slot kind by slot kind, in variable-list order) and does not
  // free the slots it replaces: rebuild the list in our fixed order, then free the old slots.
  const fresh: tf.Tensor[] = [tf.scalar(saved.iterations, 'int32')];
  const list: { name: string; tensor: tf.Tensor }[] = [{ name: 'iter', tensor: fresh[0]! }];
  if (Object.keys(slots).length > 0) {
    for (const kind of saved.slotKinds) {
      for (const w of weights) {
        const tensor = slots[`${w.name}/${kind}`];
        if (!tensor) {
          throw new TensorloopError(
            'TL_CHECKPOINT_CORRUPT',
            `The checkpoint's ${saved.className} state has no "${kind}" slot for weight "${w.name}".`,
          );
        }
        const copy = tf.clone(tensor);
        fresh.push(copy);
        list.push({ name: `${w.variable.name}/${kind}`, tensor: copy });
      }
    }
  }
  const old = await tfOptimizer.getWeights();
  await tfOptimizer.setWeights(list);
  for (const [field, value] of Object.entries(saved.accumulators ?? {})) {
    const v = (tfOptimizer as unknown as Record<string, unknown>)[field];
    if (v instanceof tf.Variable) tf.tidy(() => v.assign(tf.scalar(value)));
  }
  // setWeights wrapped each copy in a new variable sharing its data: our handles can go.
  tf.dispose(fresh);
  tf.dispose(old.map((w) => w.tensor));
}
