import * as tf from '@tensorflow/tfjs';
import { describeValue } from '../describe-value.js';
import { TensorloopError } from '../errors.js';

function positive(value: number, name: string, where: string): void {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `${where}: \`${name}\` must be a finite number > 0, got ${describeValue(value)}.`,
    );
  }
}

/**
 * Scales all gradients together so their global L2 norm is at most `maxNorm`, as
 * torch.nn.utils.clip_grad_norm_: scale = min(1, maxNorm / (norm + 1e-6)). Runs on device with no
 * host read-back; returns new tensors and the pre-clipping norm, all owned by the caller's tidy.
 * A non-finite norm makes every gradient non-finite (torch's default), which a finite check can catch.
 */
export function clipGradientsByGlobalNorm(
  grads: ReadonlyMap<string, tf.Tensor>,
  maxNorm: number,
): { grads: Map<string, tf.Tensor>; norm: tf.Scalar } {
  positive(maxNorm, 'maxNorm', 'clipGradientsByGlobalNorm');
  const present = [...grads].filter(([, g]) => g !== null && g !== undefined);
  if (present.length === 0) return { grads: new Map(grads), norm: tf.scalar(0) };
  const squares = present.map(([, g]) => g.square().sum());
  const norm = (squares.length === 1 ? squares[0]! : tf.addN(squares)).sqrt() as tf.Scalar;
  const scale = tf.minimum(tf.scalar(maxNorm).div(norm.add(tf.scalar(1e-6))), tf.scalar(1));
  const clipped = new Map<string, tf.Tensor>();
  for (const [name, g] of present) clipped.set(name, g.mul(scale));
  return { grads: clipped, norm };
}

/** Clamps every gradient element to [−clipValue, clipValue], as torch.nn.utils.clip_grad_value_. */
export function clipGradientsByValue(
  grads: ReadonlyMap<string, tf.Tensor>,
  clipValue: number,
): Map<string, tf.Tensor> {
  positive(clipValue, 'clipValue', 'clipGradientsByValue');
  const clipped = new Map<string, tf.Tensor>();
  for (const [name, g] of grads) {
    if (g === null || g === undefined) continue;
    clipped.set(name, tf.clipByValue(g, -clipValue, clipValue));
  }
  return clipped;
}
