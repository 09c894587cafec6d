// Shared fixtures for this package's tests (not part of the public surface).
import * as tf from '@tensorflow/tfjs';
import {
  definePlugin,
  isTensorloopOptimizer,
  type Plugin,
  type TensorloopOptimizer,
  type Trainer,
} from '@tensorloop/core';

export { maxAbsDiff, mnistTensors, weightsOf } from '@tensorloop/test-fixtures';

import { mnistMlp as kitMlp } from '@tensorloop/testkit';

/** The testkit's small MNIST classifier (dense → BatchNorm → relu → dense softmax; seeded, named layers). */
export const mnistMlp = (seed = 1, hidden = 32): tf.LayersModel => kitMlp({ seed, hidden });

/** Makes every gradient of the listed global micro-batches Infinity (registered after amp: it sees unscaled gradients). */
export function overflowAt(batches: readonly number[]): Plugin {
  return definePlugin({
    name: 'test:overflow',
    transformGradients: (ctx, grads) =>
      batches.includes(ctx.time.batch)
        ? new Map([...grads].map(([k, g]) => [k, tf.mul(g, Number.POSITIVE_INFINITY)]))
        : grads,
  });
}

/** Host copies of every weight and optimizer slot, in a fixed order (keys by position for tfjs slots). */
export async function stateOf(trainer: Trainer): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const w of trainer.trainableWeights) out.set(w.name, w.variable.dataSync().slice() as Float32Array);
  const opt = trainer.optimizer;
  if (isTensorloopOptimizer(opt)) {
    const { slots } = (opt as TensorloopOptimizer).getState();
    for (const [k, t] of Object.entries(slots)) out.set(`slot:${k}`, t.dataSync().slice() as Float32Array);
    tf.dispose(Object.values(slots));
  } else {
    let i = 0;
    for (const { name, tensor } of await opt.getWeights()) {
      if (name === 'iter') tensor.dispose();
      else out.set(`slot:${i++}`, tensor.dataSync().slice() as Float32Array);
    }
  }
  return out;
}

/** True when both states hold the same bits; a slot missing on one side counts as zeros. */
export function sameBits(a: Map<string, Float32Array>, b: Map<string, Float32Array>): boolean {
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key);
    const y = b.get(key);
    const n = (x ?? y)!.length;
    for (let i = 0; i < n; i++) if (!Object.is(x?.[i] ?? 0, y?.[i] ?? 0)) return false;
  }
  return true;
}

/** Per batch: did weights and slots keep their bits, what the event said, and the batch logs. */
export function watcher(trainer: () => Trainer) {
  const rows: { batch: number; unchanged: boolean; stepped: boolean; lossScale: number | undefined }[] = [];
  let before: Map<string, Float32Array> | undefined;
  const plugin = definePlugin({
    name: 'test:watcher',
    onBatchStart: async () => {
      before = await stateOf(trainer());
    },
    onBatchEnd: async (ctx, e) => {
      rows.push({
        batch: ctx.time.batch - 1,
        unchanged: sameBits(before!, await stateOf(trainer())),
        stepped: e.stepped,
        lossScale: e.logs?.loss_scale,
      });
    },
  });
  return { plugin, rows };
}

/** Accuracy of a model's predictions on one-hot labels. */
export function accuracy(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): number {
  return tf.tidy(() => {
    const pred = model.predict(x) as tf.Tensor;
    return tf.mean(tf.cast(tf.equal(tf.argMax(pred, 1), tf.argMax(y, 1)), 'float32')).dataSync()[0]!;
  });
}
