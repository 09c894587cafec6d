import { type backend_util, getKernel, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Helpers for kernels that are compositions of other wasm kernels. Everything here works on
 * `TensorInfo`s owned by the wasm backend; the engine only sees the final output, so every
 * intermediate must be released with `release()` (the engine never learns about it).
 */

export type WasmBackend = BackendWasm;

/** Runs a kernel registered for 'wasm' (looked up at call time, so patched kernels are used). */
export function runWasmKernel(
  name: string,
  backend: WasmBackend,
  inputs: Record<string, TensorInfo> | TensorInfo[],
  attrs: NamedAttrMap = {},
): TensorInfo {
  const kernel = getKernel(name, 'wasm');
  if (kernel === undefined) {
    throw new Error(`@tensorloop/backend-wasm: kernel '${name}' is not registered for 'wasm'.`);
  }
  const out = kernel.kernelFunc({ inputs: inputs as Record<string, TensorInfo>, backend, attrs });
  return Array.isArray(out) ? out[0]! : out;
}

/** Frees an intermediate result (respects the backend's reference count). */
export function release(backend: WasmBackend, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/**
 * A reshaped view sharing `info`'s data without taking a reference. Releasing a view releases
 * the data it shares, so only release views of data you own; never return a view of a kernel
 * input as a kernel output (the engine would free the input twice).
 */
export function view(info: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

/**
 * `x`'s values as a tensor of the caller's own: Identity shares the data with a reference count
 * of its own (release it like any result; never a second free of a kernel input).
 */
export function copy(backend: WasmBackend, x: TensorInfo): TensorInfo {
  return runWasmKernel('Identity', backend, { x });
}

export function transpose(backend: WasmBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return runWasmKernel('Transpose', backend, { x }, { perm });
}

/** Below this many elements a plain loop beats a typed-array `set` call per run. */
const SHORT_RUN = 16;

/** Copies `length` elements from `src[from]` to `dst[to]` (typed arrays over the same heap). */
export function copyRun(
  dst: backend_util.TypedArray,
  to: number,
  src: backend_util.TypedArray,
  from: number,
  length: number,
) {
  if (length < SHORT_RUN) {
    for (let k = 0; k < length; k++) dst[to + k] = src[from + k]!;
  } else {
    dst.set(src.subarray(from, from + length), to);
  }
}

/**
 * A box of `x` (`begin`, `size` per axis) copied straight from the wasm heap (tfjs-backend-wasm's
 * own Slice first copies the *whole* input out of the heap on every call). Trailing axes taken whole are
 * merged into one run, so cutting rows of any rank is one copy. The caller owns the result.
 */
export function crop(
  backend: WasmBackend,
  x: TensorInfo,
  begin: readonly number[],
  size: readonly number[],
): TensorInfo {
  const out = backend.makeOutput([...size], x.dtype);
  const total = sizeOf(size);
  if (total === 0) return out;
  // Views after the allocation: growing the heap detaches older views.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  if (rank === 0) {
    dst[0] = src[0]!;
    return out;
  }
  const strides: number[] = new Array(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * x.shape[i + 1]!;
  // axis `inner` and everything after it form one contiguous run.
  let inner = rank - 1;
  while (inner > 0 && size[inner] === x.shape[inner]) inner--;
  const run = size[inner]! * strides[inner]!;
  const outer = total / run;
  const index: number[] = new Array(inner).fill(0);
  for (let k = 0; k < outer; k++) {
    let offset = begin[inner]! * strides[inner]!;
    for (let d = 0; d < inner; d++) offset += (begin[d]! + index[d]!) * strides[d]!;
    copyRun(dst, k * run, src, offset, run);
    for (let d = inner - 1; d >= 0; d--) {
      index[d]!++;
      if (index[d]! < size[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

/**
 * Pads (positive) or crops (negative) `x` along each axis: `before[i]` elements are added (or
 * removed) at the start of axis i, and the axis is then padded or cropped at the end to `size[i]`.
 * Returns a new tensor owned by the caller.
 */
export function padOrCrop(
  backend: WasmBackend,
  x: TensorInfo,
  before: readonly number[],
  size: readonly number[],
): TensorInfo {
  const rank = x.shape.length;
  const paddings: [number, number][] = [];
  const begin: number[] = [];
  let needsPad = false;
  let needsCrop = false;
  for (let i = 0; i < rank; i++) {
    const b = before[i] ?? 0;
    const after = (size[i] ?? 0) - (x.shape[i] ?? 0) - b;
    paddings.push([Math.max(b, 0), Math.max(after, 0)]);
    begin.push(Math.max(-b, 0));
    if (b > 0 || after > 0) needsPad = true;
    if (b < 0 || after < 0) needsCrop = true;
  }
  let current = x;
  let owned = false;
  if (needsPad) {
    current = runWasmKernel('PadV2', backend, { x }, { paddings, constantValue: 0 });
    owned = true;
  }
  if (needsCrop) {
    const cropped = crop(backend, current, begin, size);
    if (owned) release(backend, current);
    current = cropped;
    owned = true;
  }
  return owned ? current : copy(backend, x);
}

/** tfjs's `pad` attribute of conv kernels. */
export type PadAttr = 'valid' | 'same' | number | backend_util.ExplicitPadding;
