import {
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { release, runWasmKernel, sizeOf, view, type WasmBackend } from './kernel-utils.js';
import { transposeMatrices } from './transpose-matrices.js';

/**
 * tfjs-backend-wasm runs a matMul through XNNPACK only when neither operand is transposed and
 * the batch is 1; any other call falls into a scalar loop that is 10–20× slower (and, in
 * _FusedMatMul, adds a rank-1 bias at the wrong index once there is more than one row). Every
 * dense backward pass asks for `transposeA` or `transposeB`, so:
 * - transposed operands are transposed explicitly (one memory pass) and passed plain;
 * - a batched `a` times a shared `b` is folded into one `[batch·rows, inner] × [inner, cols]`;
 * - other batched products run one XNNPACK product per batch entry when that is worth it (or
 *   always, for _FusedMatMul, to get its bias right).
 */

export interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** Below this many multiply-adds per batch entry, the scalar loop beats per-entry XNNPACK calls. */
const PER_ENTRY_MIN_WORK = 1 << 15;

function toRank3(info: TensorInfo): TensorInfo {
  const rank = info.shape.length;
  const rows = info.shape[rank - 2] ?? 1;
  const cols = info.shape[rank - 1] ?? 1;
  return view(info, [sizeOf(info.shape.slice(0, -2)), rows, cols]);
}

function broadcastBatchShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Entry `index` (modulo the batch) of a `[batch, rows, cols]` tensor, copied within the heap. */
function batchEntry(backend: WasmBackend, x: TensorInfo, index: number): TensorInfo {
  const [batch, rows, cols] = x.shape as [number, number, number];
  const out = backend.makeOutput([1, rows, cols], x.dtype);
  const size = rows * cols;
  const start = (index % batch) * size;
  backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(x).subarray(start, start + size));
  return out;
}

export interface Plan {
  transposeFirst: boolean;
  foldRows: boolean;
  perEntry: boolean;
}

/** How a product runs (exported for tests: the speed itself is measured in bench/, not in tests). */
export function plan(
  a: TensorInfo,
  b: TensorInfo,
  attrs: MatMulAttrs,
  fused: boolean,
  hasPrelu: boolean,
): Plan {
  const a3 = toRank3(a);
  const b3 = toRank3(b);
  const [batchA, rowsA, colsA] = a3.shape as [number, number, number];
  const [batchB, rowsB, colsB] = b3.shape as [number, number, number];
  const rows = attrs.transposeA ? colsA : rowsA;
  const inner = attrs.transposeA ? rowsA : colsA;
  const cols = attrs.transposeB ? rowsB : colsB;
  // A PReLU weight tensor may be laid out per row, so rows are only folded without one.
  const foldRows = !hasPrelu && batchA > 1 && batchB === 1;
  const batched = !foldRows && Math.max(batchA, batchB) > 1;
  const perEntry = batched && (fused || (rows * inner * cols >= PER_ENTRY_MIN_WORK && batchA === batchB));
  return { transposeFirst: attrs.transposeA || attrs.transposeB, foldRows, perEntry };
}

function withPlainOperands(original: KernelFunc, extraInputs: readonly string[], fused: boolean): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const wasm = backend as WasmBackend;
    const named = inputs as Record<string, TensorInfo | undefined>;
    const a = named.a!;
    const b = named.b!;
    const matAttrs = attrs as unknown as MatMulAttrs & NamedAttrMap;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original({ inputs, backend, attrs });
    const how = plan(a, b, matAttrs, fused, named.preluActivationWeights != null);
    if (!how.transposeFirst && !how.foldRows && !how.perEntry) return original({ inputs, backend, attrs });

    const temporaries: TensorInfo[] = [];
    let a3 = toRank3(a);
    let b3 = toRank3(b);
    if (matAttrs.transposeA) {
      a3 = transposeMatrices(wasm, a3);
      temporaries.push(a3);
    }
    if (matAttrs.transposeB) {
      b3 = transposeMatrices(wasm, b3);
      temporaries.push(b3);
    }
    const [batchA, rows, inner] = a3.shape as [number, number, number];
    const [batchB, , cols] = b3.shape as [number, number, number];
    const outShape = [...broadcastBatchShape(a.shape.slice(0, -2), b.shape.slice(0, -2)), rows, cols];
    const plainAttrs = { ...matAttrs, transposeA: false, transposeB: false };
    const callOriginal = (left: TensorInfo, right: TensorInfo): TensorInfo => {
      const plainInputs: Record<string, TensorInfo> = { a: left, b: right };
      for (const name of extraInputs) {
        const extra = named[name];
        if (extra != null) plainInputs[name] = extra;
      }
      return original({ inputs: plainInputs, backend, attrs: plainAttrs }) as TensorInfo;
    };

    let out: TensorInfo;
    if (how.perEntry) {
      const entries: TensorInfo[] = [];
      const batch = Math.max(batchA, batchB);
      for (let k = 0; k < batch; k++) {
        const left = batchA === 1 ? a3 : batchEntry(wasm, a3, k);
        const right = batchB === 1 ? b3 : batchEntry(wasm, b3, k);
        entries.push(callOriginal(left, right));
        if (left !== a3) release(wasm, left);
        if (right !== b3) release(wasm, right);
      }
      out = runWasmKernel('Concat', wasm, entries, { axis: 0 });
      release(wasm, ...entries);
    } else if (how.foldRows) {
      out = callOriginal(view(a3, [1, batchA * rows, inner]), b3);
    } else {
      // Keep the callers' batch dims: the original kernel broadcasts them itself.
      out = callOriginal(
        view(a3, [...a.shape.slice(0, -2), rows, inner]),
        view(b3, [...b.shape.slice(0, -2), inner, cols]),
      );
    }
    release(wasm, ...temporaries);
    // `out` is a fresh buffer owned by this call: relabel its shape instead of copying.
    return view(out, outShape);
  };
}

function patchedConfig(kernelName: string, extraInputs: readonly string[], fused: boolean): KernelConfig {
  const original = getKernel(kernelName, 'wasm');
  if (original === undefined) {
    throw new Error(`@tensorloop/backend-wasm: tfjs-backend-wasm has no '${kernelName}' kernel to patch.`);
  }
  const config: KernelConfig = {
    kernelName,
    backendName: 'wasm',
    kernelFunc: withPlainOperands(original.kernelFunc, extraInputs, fused),
  };
  if (original.setupFunc !== undefined) config.setupFunc = original.setupFunc;
  if (original.disposeFunc !== undefined) config.disposeFunc = original.disposeFunc;
  return config;
}

export function batchMatMulConfig(): KernelConfig {
  return patchedConfig('BatchMatMul', [], false);
}

export function fusedMatMulConfig(): KernelConfig {
  return patchedConfig('_FusedMatMul', ['bias', 'preluActivationWeights'], true);
}
