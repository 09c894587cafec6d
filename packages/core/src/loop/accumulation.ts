import * as tf from '@tensorflow/tfjs';
import type { GradientMap } from '../plugin.js';

/**
 * Gradient accumulation over `k` micro-batches: the trainer divides each micro-batch loss by `k`,
 * so the sum of the k gradients is the gradient of the mean over all k·n samples (k batches of n
 * equal one batch of k·n). The sums live on the device, kept across the micro-batches' tidies.
 */
export class GradientAccumulator {
  private sums = new Map<string, tf.Tensor>();
  private count = 0;

  constructor(readonly k: number) {}

  get pending(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.k;
  }

  /** Add one micro-batch's gradients (call inside a tidy; the sums are kept). */
  add(grads: GradientMap): void {
    for (const [name, g] of grads) {
      const old = this.sums.get(name);
      this.sums.set(name, tf.keep(old ? tf.add(old, g) : tf.clone(g)));
      old?.dispose();
    }
    this.count += 1;
  }

  /**
   * The accumulated gradients, handed to the caller (who disposes them). A partial window (the
   * epoch ended after c < k micro-batches) is rescaled by k/c so its update is still a mean.
   */
  take(): GradientMap {
    const scale = this.count > 0 && this.count < this.k ? this.k / this.count : 1;
    const out: GradientMap = new Map();
    for (const [name, sum] of this.sums) {
      if (scale === 1) out.set(name, sum);
      else {
        out.set(name, tf.keep(tf.mul(sum, scale)));
        sum.dispose();
      }
    }
    this.sums = new Map();
    this.count = 0;
    return out;
  }

  dispose(): void {
    for (const t of this.sums.values()) t.dispose();
    this.sums = new Map();
    this.count = 0;
  }
}
