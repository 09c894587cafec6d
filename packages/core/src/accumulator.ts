import * as tf from '@tensorflow/tfjs';
import type { Logs } from './plugin.js';

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

  /** Host copy of the running sums, for a mid-epoch checkpoint (one read-back). */
  async snapshot(): Promise<{ sums: number[]; count: number }> {
    return { sums: this.sums ? Array.from(await this.sums.data()) : [], count: this.count };
  }

  restore(sums: readonly number[], count: number): void {
    this.dispose();
    if (sums.length > 0) this.sums = tf.tensor1d([...sums]);
    this.count = count;
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

/**
 * A debiased exponential moving average of the training loss (fastai's smooth_loss):
 * avg ← β·avg + (1−β)·loss, reported as avg / (1 − β^n). Kept on the device.
 */
export class SmoothedLoss {
  private avg: tf.Scalar | undefined;
  private n = 0;

  constructor(readonly beta: number) {}

  add(loss: tf.Scalar): void {
    const previous = this.avg;
    this.avg = tf.tidy(() =>
      previous
        ? tf.add(tf.mul(previous, this.beta), tf.mul(loss, 1 - this.beta))
        : tf.mul(loss, 1 - this.beta),
    ) as tf.Scalar;
    previous?.dispose();
    this.n += 1;
  }

  /** The debiased value, as a new scalar the caller owns (undefined before the first batch). */
  value(): tf.Scalar | undefined {
    if (!this.avg) return undefined;
    const correction = 1 - this.beta ** this.n;
    return tf.tidy(() => tf.div(this.avg!, correction)) as tf.Scalar;
  }

  /** Host copy of the average, for a mid-epoch checkpoint (one read-back). */
  async snapshot(): Promise<{ avg: number | undefined; n: number }> {
    return { avg: this.avg ? (await this.avg.data())[0] : undefined, n: this.n };
  }

  restore(avg: number | undefined, n: number): void {
    this.dispose();
    if (avg !== undefined) this.avg = tf.scalar(avg);
    this.n = n;
  }

  dispose(): void {
    this.avg?.dispose();
    this.avg = undefined;
    this.n = 0;
  }
}
