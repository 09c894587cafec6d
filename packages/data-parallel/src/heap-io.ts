import * as tf from '@tensorflow/tfjs';

// Tensor values in and out of shared memory with as few copies as the backend allows. On wasm a
// tensor's values live in the instance's heap: reading them through a view of the heap skips the copy
// `dataSync()` makes. Elsewhere (cpu, a backend we do not know) the plain tfjs calls are used.

interface HeapEntry {
  readonly memoryOffset: number | null;
}

interface WasmHeapBackend {
  typedArrayFromHeap(info: { dataId: object; shape: number[]; dtype: tf.DataType }): tf.TypedArray;
  readonly dataIdMap: { get(dataId: object): HeapEntry | undefined };
}

function wasmBackendOf(t: tf.Tensor): WasmHeapBackend | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as Partial<WasmHeapBackend>;
  if (typeof backend.typedArrayFromHeap !== 'function' || backend.dataIdMap === undefined) return undefined;
  const entry = backend.dataIdMap.get(t.dataId);
  return entry?.memoryOffset == null ? undefined : (backend as WasmHeapBackend);
}

/** A view of `t`'s values (wasm: the heap itself, valid until the next allocation; else a copy). */
function valuesOf(t: tf.Tensor): tf.TypedArray {
  const backend = wasmBackendOf(t);
  if (backend === undefined) return t.dataSync() as tf.TypedArray;
  return backend.typedArrayFromHeap({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
}

/** Copies elements `[from, to)` of `t`'s values (default: all) into `target` at `offset`: one copy on wasm. */
export function copyInto(
  t: tf.Tensor,
  target: Float32Array,
  offset: number,
  from = 0,
  to: number = t.size,
): void {
  target.set(valuesOf(t).subarray(from, to), offset);
}

/**
 * Puts `source` (as many elements as `variable` has) into `variable` by `assign`: a new tensor. Never
 * in place: tfjs-backend-wasm's XNNPACK operators keep packed copies of the weights they were
 * created with, keyed by tensor, and would go on computing with the old values.
 */
export function overwrite(variable: tf.Variable, source: Float32Array): void {
  const value = tensorFrom(source, variable.shape, variable.dtype);
  variable.assign(value);
  value.dispose();
}

/**
 * A tensor of `source`'s values. On wasm its values are copied into the heap at once, so `source`
 * may change afterwards; other backends may keep the array, so they get a copy of it.
 */
export function tensorFrom(
  source: Float32Array,
  shape: readonly number[],
  dtype: tf.DataType = 'float32',
): tf.Tensor {
  const copyNeeded = tf.getBackend() !== 'wasm';
  return tf.tensor(copyNeeded ? source.slice() : source, [...shape], dtype);
}
