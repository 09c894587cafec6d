import {
  backend_util,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  slice_util,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs';
import { copyRun, crop, sizeOf, type WasmBackend } from './kernel-utils.js';

/**
 * GatherV2, Slice and Concat as copies of contiguous runs inside the wasm heap.
 *
 * - tfjs-backend-wasm's Slice first reads the *whole* source out of the heap (`readSync` copies
 *   it) on every call, so cutting a batch from a dataset costs O(dataset) per batch and an epoch
 *   O(dataset²).
 * - Its GatherV2 copies element by element, computing a multi-dimensional index per element
 *   (3.6 ms for 128 rows of 784 floats; one `copyWithin` per row takes a tenth of that).
 * - Its Concat copies runs too, but with one typed-array call per run even when a run is a
 *   single element (a concat of [n, 1] columns).
 * String tensors (which live outside the heap) go to tfjs's own kernels.
 */

function original(name: string): KernelFunc {
  const kernel = getKernel(name, 'wasm');
  if (kernel === undefined) {
    throw new Error(`@tensorloop/backend-wasm: tfjs-backend-wasm has no '${name}' kernel to patch.`);
  }
  return kernel.kernelFunc;
}

const slice =
  (tfjsSlice: KernelFunc): KernelFunc =>
  ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    if (x.dtype === 'string') return tfjsSlice({ inputs, backend, attrs });
    const { begin, size } = attrs as unknown as { begin: number | number[]; size?: number | number[] };
    const [begin_, size_] = slice_util.parseSliceParams(x, begin, size) as [number[], number[]];
    slice_util.assertParamsValid(x, begin_, size_);
    return crop(backend as WasmBackend, x, begin_, size_);
  };

const gatherV2 =
  (tfjsGather: KernelFunc): KernelFunc =>
  ({ inputs, backend, attrs }) => {
    const wasm = backend as WasmBackend;
    const { x, indices } = inputs as { x: TensorInfo; indices: TensorInfo };
    if (x.dtype === 'string') return tfjsGather({ inputs, backend, attrs });
    const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
    const parsedAxis = util.parseAxisParam(axis, x.shape)[0]!;
    const info = backend_util.segment_util.collectGatherOpShapeInfo(
      x as Parameters<typeof backend_util.segment_util.collectGatherOpShapeInfo>[0],
      indices as Parameters<typeof backend_util.segment_util.collectGatherOpShapeInfo>[1],
      parsedAxis,
      batchDims,
    );
    const { batchSize, outerSize, dimSize, sliceSize, outputShape } = info;
    const indexCount = sizeOf(indices.shape);
    const perBatch = batchSize === 0 ? 0 : indexCount / batchSize;
    const out = wasm.makeOutput(outputShape, x.dtype);
    if (sizeOf(outputShape) === 0) return out;
    // Views after the allocation: growing the heap detaches older views.
    const ids = wasm.typedArrayFromHeap(indices);
    for (let i = 0; i < indexCount; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id <= dimSize - 1)) {
        wasm.disposeData(out.dataId);
        // The message tfjs's kernels give, so errors read the same on every backend.
        throw new Error(`GatherV2: the index value ${id} is not in [0, ${dimSize - 1}]`);
      }
    }
    const src = wasm.typedArrayFromHeap(x);
    const dst = wasm.typedArrayFromHeap(out);
    let to = 0;
    for (let b = 0; b < batchSize; b++) {
      for (let o = 0; o < outerSize; o++) {
        const base = (b * outerSize + o) * dimSize * sliceSize;
        for (let i = 0; i < perBatch; i++) {
          copyRun(dst, to, src, base + ids[b * perBatch + i]! * sliceSize, sliceSize);
          to += sliceSize;
        }
      }
    }
    return out;
  };

const concat =
  (tfjsConcat: KernelFunc): KernelFunc =>
  ({ inputs, backend, attrs }) => {
    const wasm = backend as WasmBackend;
    const list = inputs as unknown as TensorInfo[];
    if (list[0]!.dtype === 'string') return tfjsConcat({ inputs, backend, attrs });
    const axis = util.parseAxisParam((attrs as NamedAttrMap).axis as number, list[0]!.shape)[0]!;
    backend_util.assertParamsConsistent(
      list.map((t) => t.shape),
      axis,
    );
    const outShape = backend_util.computeOutShape(
      list.map((t) => t.shape),
      axis,
    );
    const parts = list.filter((t) => sizeOf(t.shape) > 0);
    const out = wasm.makeOutput(outShape, list[0]!.dtype);
    if (parts.length === 0) return out;
    const outer = sizeOf(parts[0]!.shape.slice(0, axis));
    const runs = parts.map((t) => sizeOf(t.shape.slice(axis)));
    const width = runs.reduce((a, b) => a + b, 0);
    // Views after the allocation: growing the heap detaches older views.
    const dst = wasm.typedArrayFromHeap(out);
    const sources = parts.map((t) => wasm.typedArrayFromHeap(t));
    let column = 0;
    for (let p = 0; p < parts.length; p++) {
      const src = sources[p]!;
      const run = runs[p]!;
      for (let b = 0; b < outer; b++) copyRun(dst, b * width + column, src, b * run, run);
      column += run;
    }
    return out;
  };

// Each wraps tfjs's kernel of the same name (looked up when registering), used for strings.
export const sliceConfig = (): KernelConfig => ({
  kernelName: 'Slice',
  backendName: 'wasm',
  kernelFunc: slice(original('Slice')),
});
export const gatherV2Config = (): KernelConfig => ({
  kernelName: 'GatherV2',
  backendName: 'wasm',
  kernelFunc: gatherV2(original('GatherV2')),
});
export const concatConfig = (): KernelConfig => ({
  kernelName: 'Concat',
  backendName: 'wasm',
  kernelFunc: concat(original('Concat')),
});
