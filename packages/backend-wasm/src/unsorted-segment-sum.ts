import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { crop, release, runWasmKernel, sizeOf, view, type WasmBackend } from './kernel-utils.js';

/**
 * UnsortedSegmentSum (the gradient of gather, hence of embedding layers), missing from
 * tfjs-backend-wasm. It is a scatter-add, which wasm's ScatterNd kernel performs (it sums rows
 * sent to the same index). ScatterNd does not bounds-check, so ids outside [0, numSegments) —
 * which tfjs and TensorFlow drop — are first sent to one spare row that is cut off afterwards.
 */
const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as WasmBackend;
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = Number((attrs as { numSegments: number }).numSegments);
  const count = sizeOf(segmentIds.shape);
  const rowShape = x.shape.slice(segmentIds.shape.length);
  const rowSize = sizeOf(rowShape);
  const outShape = [numSegments, ...rowShape];
  if (count === 0 || rowSize === 0) {
    return runWasmKernel('Fill', wasm, {}, { shape: outShape, value: 0, dtype: x.dtype });
  }
  const updates = view(x, [count, rowSize]);
  const ids = wasm.typedArrayFromHeap(segmentIds) as Int32Array;
  let allValid = true;
  for (let i = 0; i < count; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= numSegments) {
      allValid = false;
      break;
    }
  }
  if (allValid) {
    const out = runWasmKernel(
      'ScatterNd',
      wasm,
      { indices: view(segmentIds, [count, 1]), updates },
      { shape: [numSegments, rowSize] },
    );
    return view(out, outShape);
  }
  const remapped = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const id = ids[i]!;
    remapped[i] = id < 0 || id >= numSegments ? numSegments : id;
  }
  const spareIds = wasm.makeOutput([count, 1], 'int32', undefined, remapped);
  const withSpare = runWasmKernel(
    'ScatterNd',
    wasm,
    { indices: spareIds, updates },
    { shape: [numSegments + 1, rowSize] },
  );
  const out = crop(wasm, withSpare, [0, 0], [numSegments, rowSize]);
  release(wasm, spareIds, withSpare);
  return view(out, outShape);
};

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum,
};
