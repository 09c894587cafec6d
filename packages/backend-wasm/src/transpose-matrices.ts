import type { TensorInfo } from '@tensorflow/tfjs';
import { compiledKernels, pointerOf } from './compiled.js';
import type { WasmBackend } from './kernel-utils.js';

/**
 * `[batch, rows, cols]` → `[batch, cols, rows]` (32-bit dtypes), a tiled SIMD copy on the wasm
 * heap (compiled kernel). For the matrix shapes of dense layers this is several times faster than
 * tfjs-backend-wasm's generic Transpose kernel, and it runs on every dense backward pass. The
 * caller owns the result.
 */
export function transposeMatrices(backend: WasmBackend, x: TensorInfo): TensorInfo {
  const [batch, rows, cols] = x.shape as [number, number, number];
  const out = backend.makeOutput([batch, cols, rows], x.dtype);
  if (batch * rows * cols === 0) return out;
  compiledKernels(backend).transposeMatrices(
    pointerOf(backend, x),
    pointerOf(backend, out),
    batch,
    rows,
    cols,
  );
  return out;
}
