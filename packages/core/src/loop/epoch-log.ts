import * as tf from '@tensorflow/tfjs';
import type { Logs } from '../plugin.js';

/** What an epoch's logs are built from, as host numbers (also a mid-epoch checkpoint's content). */
export interface EpochLogState {
  /** Σ value·batchSize per key. */
  readonly sums: readonly number[];
  /** Samples so far. */
  readonly count: number;
  /** Moving average of the batch loss before debiasing, and the batches in it. */
  readonly smoothAvg: number | undefined;
  readonly smoothN: number;
}

/** Rows are folded into one device tensor every this many batches, to bound the tensor count. */
const FOLD_EVERY = 128;

/**
 * The training logs of one epoch (DESIGN §4). Each step hands over its `[loss, ...metrics]` row, which
 * stays on the device untouched: no per-step arithmetic is added to the step. At the epoch end the
 * rows are read back in one transfer and the sample-weighted means and the debiased moving average
 * of the loss (fastai's smooth_loss: avg ← β·avg + (1−β)·loss, reported as avg / (1 − β^n)) are
 * computed on the host in float64.
 */
export class EpochLog {
  private rows: tf.Tensor1D[] = [];
  private chunks: tf.Tensor2D[] = [];
  private sizes: number[] = [];
  private base: EpochLogState;

  constructor(
    readonly keys: readonly string[],
    readonly beta: number,
  ) {
    this.base = { sums: keys.map(() => 0), count: 0, smoothAvg: undefined, smoothN: 0 };
  }

  /**
   * Take ownership of one batch's row. Rows are folded before a new one is added, so the row just
   * added stays valid until the next `add` (the batch-end event may still read it).
   */
  add(row: tf.Tensor1D, batchSize: number): void {
    if (this.rows.length >= FOLD_EVERY) {
      const rows = this.rows;
      this.chunks.push(tf.stack(rows) as tf.Tensor2D);
      tf.dispose(rows);
      this.rows = [];
    }
    this.rows.push(row);
    this.sizes.push(batchSize);
  }

  /** Fold every pending row into the host state (one read-back). */
  async state(): Promise<EpochLogState> {
    if (this.sizes.length === 0) return this.base;
    const all = tf.tidy(() =>
      tf.concat([...this.chunks, ...(this.rows.length ? [tf.stack(this.rows) as tf.Tensor2D] : [])]),
    );
    const values = await all.data();
    all.dispose();
    const k = this.keys.length;
    const sums = [...this.base.sums];
    let { count, smoothAvg, smoothN } = this.base;
    this.sizes.forEach((size, i) => {
      for (let j = 0; j < k; j++) sums[j]! += values[i * k + j]! * size;
      count += size;
      const loss = values[i * k]!;
      smoothAvg =
        smoothAvg === undefined ? (1 - this.beta) * loss : this.beta * smoothAvg + (1 - this.beta) * loss;
      smoothN += 1;
    });
    this.disposeRows();
    this.base = { sums, count, smoothAvg, smoothN };
    return this.base;
  }

  /** Start from a saved state (a mid-epoch resume). */
  restore(state: EpochLogState): void {
    this.disposeRows();
    this.base = { ...state, sums: [...state.sums] };
  }

  /** The epoch's logs: means, plus `smooth_loss` (one read-back). */
  async read(): Promise<Logs> {
    const { sums, count, smoothAvg, smoothN } = await this.state();
    const logs: Logs = {};
    if (count === 0) return logs;
    this.keys.forEach((key, j) => {
      logs[key] = sums[j]! / count;
    });
    if (smoothAvg !== undefined) logs.smooth_loss = smoothAvg / (1 - this.beta ** smoothN);
    return logs;
  }

  private disposeRows(): void {
    tf.dispose(this.rows);
    tf.dispose(this.chunks);
    this.rows = [];
    this.chunks = [];
    this.sizes = [];
  }

  dispose(): void {
    this.disposeRows();
  }
}
