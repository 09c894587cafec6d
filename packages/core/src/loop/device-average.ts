import * as tf from '@tensorflow/tfjs';
import type { Logs } from '../plugin.js';

/**
 * Sums of per-batch values weighted by batch size, kept on the device: the host reads them once,
 * at the end (DESIGN §4). `keys[i]` names `values[i]` of each batch.
 */
export class DeviceAverage {
  private sums: tf.Tensor1D | undefined;
  private count = 0;

  constructor(readonly keys: readonly string[]) {}

  /** Add one batch's values (a 1-D tensor in `keys` order). The caller keeps ownership of `values`. */
  add(values: tf.Tensor1D, batchSize: number): void {
    const previous = this.sums;
    this.sums = tf.tidy(() => {
      const weighted = tf.mul(values, batchSize) as tf.Tensor1D;
      return previous ? (tf.add(previous, weighted) as tf.Tensor1D) : weighted;
    });
    previous?.dispose();
    this.count += batchSize;
  }

  get samples(): number {
    return this.count;
  }

  /**
   * One read-back of the averages (plus `extra` named scalars, read in the same transfer);
   * disposes the sums.
   */
  async read(prefix = '', extra: Record<string, tf.Scalar | undefined> = {}): Promise<Logs> {
    const logs: Logs = {};
    const extraKeys = Object.keys(extra).filter((k) => extra[k] !== undefined);
    if (!this.sums || this.count === 0) return logs;
    const sums = this.sums;
    const all = tf.tidy(() =>
      tf.concat([tf.div(sums, this.count), ...extraKeys.map((k) => tf.reshape(extra[k]!, [1]))]),
    );
    const values = await all.data();
    all.dispose();
    this.keys.forEach((k, i) => {
      logs[prefix + k] = values[i]!;
    });
    extraKeys.forEach((k, i) => {
      logs[k] = values[this.keys.length + i]!;
    });
    this.dispose();
    return logs;
  }

  dispose(): void {
    this.sums?.dispose();
    this.sums = undefined;
    this.count = 0;
  }
}
