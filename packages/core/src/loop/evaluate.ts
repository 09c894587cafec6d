import * as tf from '@tensorflow/tfjs';
import type { DataSource } from '../data.js';
import type { Logs } from '../plugin.js';
import { SeededRandom } from '../rng.js';
import { batchesWithinTimeout } from './data-timeout.js';
import { DeviceAverage } from './device-average.js';
import { type ForwardDeps, forwardLossMetrics } from './forward.js';

/**
 * Loss (with regularizers, as Keras reports it) and metrics over a whole source, in inference mode,
 * averaged over samples on the device and read back once.
 */
export async function evaluateSource(
  deps: ForwardDeps,
  source: DataSource,
  batchSize: number,
  prefix = '',
  dataTimeoutMs?: number,
): Promise<Logs> {
  const average = new DeviceAverage(['loss', ...deps.metrics.map((m) => m.name)]);
  try {
    const batches = source.epoch({
      batchSize,
      shuffle: false,
      rng: new SeededRandom(0),
      batchesPerEpoch: undefined,
    });
    for await (const pending of batchesWithinTimeout(
      batches,
      dataTimeoutMs,
      (i) => `${prefix ? 'validation' : 'evaluation'} batch ${i}`,
    )) {
      try {
        const values = tf.tidy(
          () =>
            tf.stack(
              forwardLossMetrics(deps, pending.materialize(), { training: false }).values,
            ) as tf.Tensor1D,
        );
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
