import type { Histogram } from './event-proto.js';

/**
 * A `HistogramProto` of `values`: `buckets` equal-width buckets from min to max (TF2's
 * `tf.summary.histogram` uses 30), non-finite values left out. TensorBoard reads bucket i as
 * [limit[i-1] (min for the first), limit[i]], the last one ending at max. Undefined without a finite value.
 */
export function histogramOf(values: ArrayLike<number>, buckets = 30): Histogram | undefined {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let num = 0;
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    num += 1;
    sum += v;
    sumSquares += v * v;
  }
  if (num === 0) return undefined;
  if (max === min) return { min, max, num, sum, sumSquares, bucketLimit: [max], bucket: [num] };
  const width = (max - min) / buckets;
  const counts = new Array<number>(buckets).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    counts[Math.min(buckets - 1, Math.floor((v - min) / width))]! += 1;
  }
  const bucketLimit = counts.map((_, i) => (i === buckets - 1 ? max : min + (i + 1) * width));
  return { min, max, num, sum, sumSquares, bucketLimit, bucket: counts };
}
