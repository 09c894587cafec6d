import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from '../errors.js';
import { adagrad } from '../optim/adagrad.js';
import { adam, adamw } from '../optim/adam.js';
import { rmsprop } from '../optim/rmsprop.js';
import { sgd } from '../optim/sgd.js';
import type { OptimizerType, TensorloopOptimizer } from '../optim/types.js';
import type { AnyOptimizer } from '../optimizer-seam.js';
import type { SavedOptimizer } from './optimizer-state.js';

type Factory = (options: Record<string, number | boolean>) => TensorloopOptimizer;

const FACTORIES: Record<OptimizerType, Factory> = {
  sgd: (o) => sgd(o as unknown as Parameters<typeof sgd>[0]),
  adam: (o) => adam(o),
  adamw: (o) => adamw(o),
  rmsprop: (o) => rmsprop(o),
  adagrad: (o) => adagrad(o),
};

/**
 * A fresh optimizer of the saved type and options, for `Trainer.load`. Group membership and
 * hyperparameters come back with `setState` (by name), so matchers need not be serializable.
 */
export function recreateOptimizer(saved: SavedOptimizer): AnyOptimizer {
  if (saved.kind === 'tensorloop') {
    const defaults = saved.meta.groups.find((g) => g.name === 'default')?.hparams ?? {};
    return FACTORIES[saved.meta.type]({ ...defaults, ...saved.meta.options });
  }
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[saved.className];
  if (!entry) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `The checkpoint's optimizer class "${saved.className}" is not registered with tf.serialization. Pass the optimizer: Trainer.load(dir, { optimizer }).`,
    );
  }
  const [cls, fromConfig] = entry;
  return fromConfig(cls, saved.config) as unknown as tf.Optimizer;
}
