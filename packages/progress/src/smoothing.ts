/**
 * The debiased moving average of the batch loss (fastai's smooth loss, the trainer's
 * `smooth_loss`), from samples: the plugin reads one batch loss every `refreshMs`, not every batch.
 * A sample taken k batches after the previous one stands for those k batches, so the average moves
 * as if each had had that loss: avg ← β^k·avg + (1 − β^k)·loss, reported as avg / (1 − β^n) after
 * n batches. With k = 1 every time it equals the per-batch average exactly.
 */
export class SampledSmoothing {
  private avg = 0;
  private batches = 0;

  constructor(private readonly beta: number) {}

  add(loss: number, batchesSinceLast: number): void {
    if (!Number.isFinite(loss) || batchesSinceLast <= 0) return;
    const keep = this.beta ** batchesSinceLast;
    this.avg = keep * this.avg + (1 - keep) * loss;
    this.batches += batchesSinceLast;
  }

  get value(): number | undefined {
    if (this.batches === 0) return undefined;
    return this.beta === 0 ? this.avg : this.avg / (1 - this.beta ** this.batches);
  }

  reset(): void {
    this.avg = 0;
    this.batches = 0;
  }
}
