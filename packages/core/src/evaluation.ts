import * as tf from '@tensorflow/tfjs';
import type { DataSource } from './data.js';
import { DeviceAverage } from './device-average.js';
import type { ResolvedLoss } from './losses.js';
import type { ResolvedMetric } from './metrics.js';
import type { Logs } from './plugin.js';
import { SeededRandom } from './rng.js';

export interface EvalDeps {
  readonly model: tf.LayersModel;
  readonly loss: ResolvedLoss;
  readonly metrics: readonly ResolvedMetric[];
}

/**
 * Loss (with regularizers, as Keras reports it) and metrics over a whole source, in inference mode,
 * averaged over samples on the device and read back once.
 */
export async function evaluateSource(
  deps: EvalDeps,
  source: DataSource,
  batchSize: number,
  prefix = '',
): Promise<Logs> {
  const average = new DeviceAverage(['loss', ...deps.metrics.map((m) => m.name)]);
  try {
    for await (const pending of source.epoch({
      batchSize,
      shuffle: false,
      rng: new SeededRandom(0),
      batchesPerEpoch: undefined,
    })) {
      try {
        const values = tf.tidy(() => {
          const batch = pending.materialize();
          const yPred = deps.model.apply(batch.x, { training: false }) as tf.Tensor;
          let loss = deps.loss.fn(batch.y, yPred);
          const regularizers = deps.model.calculateLosses();
          if (regularizers.length > 0) loss = tf.addN([loss, ...regularizers]) as tf.Scalar;
          return tf.stack([loss, ...deps.metrics.map((m) => m.fn(batch.y, yPred))]) as tf.Tensor1D;
        });
        average.add(values, pending.size);
        values.dispose();
      } finally {
        pending.release();
      }
    }
    return await average.read(prefix);
  } finally {
    average.dispose();
  }
}
