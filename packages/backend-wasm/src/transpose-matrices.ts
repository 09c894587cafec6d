import type { TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackend } from './kernel-utils.js';

const BLOCK = 32;

/**
 * `[batch, rows, cols]` → `[batch, cols, rows]` (float32), a cache-blocked copy on the wasm heap.
 * For the matrix shapes of dense layers this is 2–3× faster than tfjs-backend-wasm's generic
 * Transpose kernel, and it runs on every dense backward pass. The caller owns the result.
 */
export function transposeMatrices(backend: WasmBackend, x: TensorInfo): TensorInfo {
  const [batch, rows, cols] = x.shape as [number, number, number];
  const out = backend.makeOutput([batch, cols, rows], 'float32');
  // Views after the allocation: growing the heap detaches older views.
  const src = backend.typedArrayFromHeap(x) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const size = rows * cols;
  for (let b = 0; b < batch; b++) {
    const base = b * size;
    for (let i0 = 0; i0 < rows; i0 += BLOCK) {
      const i1 = Math.min(i0 + BLOCK, rows);
      for (let j0 = 0; j0 < cols; j0 += BLOCK) {
        const j1 = Math.min(j0 + BLOCK, cols);
        for (let i = i0; i < i1; i++) {
          const from = base + i * cols;
          for (let j = j0; j < j1; j++) dst[base + j * rows + i] = src[from + j]!;
        }
      }
    }
  }
  return out;
}
