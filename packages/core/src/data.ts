import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from './errors.js';
import type { Batch } from './plugin.js';
import type { SeededRandom } from './rng.js';

/** Whole tensors, batched and (optionally) shuffled by the trainer with its seeded RNG. */
export interface TensorData {
  readonly x: tf.Tensor | tf.Tensor[];
  readonly y: tf.Tensor;
}

/** A batch as an iterable yields it: `{ x, y }`, or tfjs's `{ xs, ys }`. */
export type BatchLike =
  | { readonly x: tf.Tensor | tf.Tensor[]; readonly y: tf.Tensor }
  | { readonly xs: tf.Tensor | tf.Tensor[]; readonly ys: tf.Tensor };

/**
 * Training or validation data: tensors, a `tf.data.Dataset` of batches, or any (async) iterable of
 * batches. Dataset batches are disposed after use (as `fitDataset` does); batches from a plain
 * iterable belong to you and are left alone.
 */
export type DataInput =
  | TensorData
  | tf.data.Dataset<tf.TensorContainer>
  | Iterable<BatchLike>
  | AsyncIterable<BatchLike>;

/** A batch whose tensors are created lazily, inside the step's `tf.tidy`. */
export interface PendingBatch {
  readonly size: number;
  /** Create the batch tensors (inside a tidy: they are disposed with it). */
  materialize(): Batch;
  /** Release what the source handed over (dataset batches). */
  release(): void;
}

export interface EpochOptions {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly rng: SeededRandom;
  /** Batches to draw per epoch; for endless sources (the iterator then persists across epochs). */
  readonly batchesPerEpoch: number | undefined;
}

export interface DataSource {
  readonly kind: 'tensors' | 'dataset' | 'iterable';
  /** Number of batches an epoch has, when known before iterating. */
  batchesPerEpoch(batchSize: number): number | undefined;
  /** Yields the batches of one epoch. Call `release()` on each when done with it. */
  epoch(options: EpochOptions): AsyncGenerator<PendingBatch, void, undefined>;
  /** Tensors for up-front validation (whole data, or the first batch of an iterable). */
  readonly tensors: TensorData | undefined;
  dispose(): void;
}

function isTensor(value: unknown): value is tf.Tensor {
  return value instanceof tf.Tensor;
}

function isTensorData(value: unknown): value is TensorData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { x?: unknown; y?: unknown };
  const xOk = isTensor(v.x) || (Array.isArray(v.x) && v.x.length > 0 && v.x.every(isTensor));
  return xOk && isTensor(v.y);
}

function isDataset(value: unknown): value is tf.data.Dataset<tf.TensorContainer> {
  return value instanceof tf.data.Dataset;
}

export function normalizeBatch(value: unknown, where: string): Batch {
  if (typeof value === 'object' && value !== null) {
    const v = value as { x?: unknown; y?: unknown; xs?: unknown; ys?: unknown };
    const x = v.x ?? v.xs;
    const y = v.y ?? v.ys;
    const xOk = isTensor(x) || (Array.isArray(x) && x.length > 0 && x.every(isTensor));
    if (xOk && isTensor(y)) return { x: x as tf.Tensor | tf.Tensor[], y };
  }
  throw new TensorloopError(
    'TL_DATA_INVALID',
    `${where} yielded ${describe(value)}; expected a batch { x: Tensor | Tensor[], y: Tensor } (or tfjs's { xs, ys }).`,
  );
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== 'object') return `a ${typeof value}`;
  return `an object with keys [${Object.keys(value).join(', ')}]`;
}

export function firstDim(x: tf.Tensor | tf.Tensor[]): number {
  const t = Array.isArray(x) ? x[0]! : x;
  return t.shape[0] ?? 0;
}

function disposeBatch(batch: Batch): void {
  tf.dispose([...(Array.isArray(batch.x) ? batch.x : [batch.x]), batch.y]);
}

class TensorSource implements DataSource {
  readonly kind = 'tensors' as const;
  readonly size: number;

  constructor(readonly tensors: TensorData) {
    const xs = Array.isArray(tensors.x) ? tensors.x : [tensors.x];
    this.size = tensors.y.shape[0] ?? 0;
    for (const [i, x] of xs.entries()) {
      if (x.shape[0] !== this.size) {
        throw new TensorloopError(
          'TL_SHAPE_MISMATCH',
          `x${xs.length > 1 ? `[${i}]` : ''} has ${x.shape[0]} samples but y has ${this.size} (x shape [${x.shape}], y shape [${tensors.y.shape}]). x and y must have the same first dimension.`,
        );
      }
    }
    if (this.size === 0) {
      throw new TensorloopError('TL_DATA_INVALID', 'The data has 0 samples. Pass at least one sample.');
    }
  }

  batchesPerEpoch(batchSize: number): number {
    return Math.ceil(this.size / batchSize);
  }

  async *epoch(options: EpochOptions): AsyncGenerator<PendingBatch, void, undefined> {
    const { batchSize, shuffle, rng } = options;
    // Batches are cut with gather along an index order. Without shuffling, slices are cheaper on cpu
    // (a view), but tfjs-backend-wasm's Slice copies the whole source out of the heap per call.
    const byIndex = shuffle || tf.getBackend() === 'wasm';
    const order = byIndex
      ? tf.tensor1d(
          shuffle ? rng.permutation(this.size) : Int32Array.from({ length: this.size }, (_, i) => i),
          'int32',
        )
      : undefined;
    const { x, y } = this.tensors;
    try {
      const limit = options.batchesPerEpoch ?? this.batchesPerEpoch(batchSize);
      for (let b = 0; b < limit; b++) {
        const start = (b * batchSize) % this.size;
        const size = Math.min(batchSize, this.size - start);
        const take = (t: tf.Tensor): tf.Tensor =>
          order ? tf.gather(t, tf.slice(order, [start], [size])) : tf.slice(t, start, size);
        yield {
          size,
          materialize: () => ({ x: Array.isArray(x) ? x.map(take) : take(x), y: take(y) }),
          release: () => {},
        };
      }
    } finally {
      order?.dispose();
    }
  }

  dispose(): void {}
}

type AnyIterator = Iterator<BatchLike> | AsyncIterator<BatchLike>;

class IteratorSource implements DataSource {
  readonly tensors: TensorData | undefined = undefined;
  /** Checks each batch as it is drawn (`checkEveryBatch`); the first one is also checked up front. */
  batchCheck: ((batch: Batch, index: number) => void) | undefined;
  /** Kept across epochs when `batchesPerEpoch` is set, so an endless source is not restarted. */
  private persistent: AnyIterator | undefined;
  private peeked: Batch | undefined;

  constructor(
    readonly kind: 'dataset' | 'iterable',
    private readonly open: () => Promise<AnyIterator>,
    private readonly disposeBatches: boolean,
  ) {}

  batchesPerEpoch(): undefined {
    return undefined;
  }

  /** Read the first batch ahead of training, for validation before the first step. */
  async peek(): Promise<Batch | undefined> {
    if (!this.peeked) {
      this.persistent ??= await this.open();
      const r = await this.persistent.next();
      if (r.done) return undefined;
      this.peeked = normalizeBatch(r.value, this.where());
    }
    return this.peeked;
  }

  private where(): string {
    return this.kind === 'dataset' ? 'The dataset' : 'The data iterable';
  }

  async *epoch(options: EpochOptions): AsyncGenerator<PendingBatch, void, undefined> {
    const endless = options.batchesPerEpoch !== undefined;
    let it: AnyIterator;
    if (endless || this.peeked) {
      this.persistent ??= await this.open();
      it = this.persistent;
    } else {
      it = await this.open();
    }
    let count = 0;
    try {
      while (!endless || count < options.batchesPerEpoch!) {
        let batch: Batch;
        if (this.peeked) {
          batch = this.peeked;
          this.peeked = undefined;
        } else {
          const r = await it.next();
          if (r.done) {
            if (endless) {
              throw new TensorloopError(
                'TL_DATA_INVALID',
                `${this.where()} ended after ${count} batches of an epoch, but stepsPerEpoch asks for ${options.batchesPerEpoch}. Lower stepsPerEpoch or make the source repeat (dataset.repeat()).`,
              );
            }
            break;
          }
          batch = normalizeBatch(r.value, this.where());
          try {
            this.batchCheck?.(batch, count);
          } catch (error) {
            if (this.disposeBatches) disposeBatch(batch);
            throw error;
          }
        }
        count++;
        const owned = batch;
        yield {
          size: firstDim(owned.x),
          materialize: () => owned,
          release: () => {
            if (this.disposeBatches) disposeBatch(owned);
          },
        };
      }
    } finally {
      if (!endless && it !== this.persistent) await it.return?.();
      if (!endless && it === this.persistent) this.persistent = undefined;
    }
    if (count === 0) {
      throw new TensorloopError('TL_DATA_INVALID', `${this.where()} yielded no batch in an epoch.`);
    }
  }

  dispose(): void {
    if (this.peeked && this.disposeBatches) disposeBatch(this.peeked);
    this.peeked = undefined;
    void this.persistent?.return?.();
    this.persistent = undefined;
  }
}

export function toDataSource(data: DataInput, what: string): DataSource {
  if (isTensorData(data)) return new TensorSource(data);
  if (isDataset(data)) {
    return new IteratorSource('dataset', async () => (await data.iterator()) as unknown as AnyIterator, true);
  }
  if (typeof data === 'object' && data !== null) {
    const asyncIt = (data as AsyncIterable<BatchLike>)[Symbol.asyncIterator];
    if (typeof asyncIt === 'function') {
      return new IteratorSource('iterable', async () => asyncIt.call(data), false);
    }
    const syncIt = (data as Iterable<BatchLike>)[Symbol.iterator];
    if (typeof syncIt === 'function') {
      return new IteratorSource('iterable', async () => syncIt.call(data), false);
    }
  }
  throw new TensorloopError(
    'TL_DATA_INVALID',
    `${what} must be { x: Tensor, y: Tensor }, a tf.data.Dataset of { xs, ys } batches, or an (async) iterable of { x, y } batches; got ${describe(data)}.`,
  );
}

/**
 * Runs `check` on every batch an iterable or dataset yields (host-side checks only: shapes, dtypes),
 * so a ragged batch in the middle of an epoch fails with the trainer's coded error instead of a tfjs
 * error inside the step. Tensor data is checked whole, up front.
 */
export function checkEveryBatch(source: DataSource, check: (batch: Batch, index: number) => void): void {
  if (source instanceof IteratorSource) source.batchCheck = check;
}

/** The first batch of a source, to validate before the first step (tensor data: the whole data). */
export async function sampleForValidation(source: DataSource): Promise<TensorData | undefined> {
  if (source.tensors) return source.tensors;
  if (source instanceof IteratorSource) return source.peek();
  return undefined;
}
