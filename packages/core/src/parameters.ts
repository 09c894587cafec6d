import type { ParameterInfo } from './freezing.js';
import type { HyperparamStore } from './hyperparams.js';
import type { TensorloopOptimizer } from './optim/types.js';
import { type AnyOptimizer, isTensorloopOptimizer } from './optimizer-seam.js';
import type { TrainableWeight } from './variables.js';

/** A param group as `trainer.paramGroups` lists it. */
export interface ParamGroupInfo {
  readonly name: string;
  readonly hparams: Readonly<Record<string, number>>;
  readonly variables: readonly string[];
}

/** A tensorloop optimizer's groups; one `default` group (with the store's lr) for a tfjs optimizer. */
export function paramGroupsOf(
  optimizer: AnyOptimizer,
  store: HyperparamStore,
  weights: readonly TrainableWeight[],
): readonly ParamGroupInfo[] {
  if (isTensorloopOptimizer(optimizer)) return (optimizer as TensorloopOptimizer).groups;
  return [
    {
      name: 'default',
      hparams: { lr: store.get('lr', { group: 'default' }) },
      variables: weights.map((w) => w.name),
    },
  ];
}

/** Every trainable-capable weight with its shape, trainable flag and param group. */
export function parametersOf(optimizer: AnyOptimizer, weights: readonly TrainableWeight[]): ParameterInfo[] {
  const opt = isTensorloopOptimizer(optimizer) ? (optimizer as TensorloopOptimizer) : undefined;
  return weights.map((w) => ({
    name: w.name,
    shape: [...w.variable.shape],
    trainable: w.layerVariable.trainable,
    group: opt ? opt.groupOf(w.name).name : 'default',
  }));
}
