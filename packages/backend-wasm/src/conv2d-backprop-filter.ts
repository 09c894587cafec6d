import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import { compiledKernels, pointerOf } from './compiled.js';
import { type PadAttr, release, runWasmKernel, view, type WasmBackend } from './kernel-utils.js';
import { isChannelsFirst, toChannelsLast } from './layout.js';
import { extractPatches, type WindowAttrs } from './patches.js';
import { transposeMatrices } from './transpose-matrices.js';

/**
 * Conv2DBackpropFilter (the filter gradient of conv2d, conv1d and separableConv2d), missing from
 * tfjs-backend-wasm. dW[(i,j,c), o] = Σ_rows patch[row, (i,j,c)] · dy[row, o]: one matrix product
 * of the im2col patches and dy, in the filter layout as `patchesᵀ·dy`. Up to `SMALL_COLUMNS`
 * columns a compiled aᵀ·b computes it in place; beyond, XNNPACK does, after transposes (it packs
 * the right operand of every product whose right tensor is new, so the smaller of patches and dy
 * goes on the right).
 */
export function conv2dFilterGradientNHWC(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  filterShape: [number, number, number, number],
  window: WindowAttrs,
): TensorInfo {
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    window.strides,
    window.dilations,
    window.pad,
    window.dimRoundingMode,
  );
  const [filterHeight, filterWidth, inChannels, outChannels] = filterShape;
  const columns = filterHeight * filterWidth * inChannels;
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const patches = extractPatches(backend, x, info); // [rows, taps·C]
  const product = (a: TensorInfo, b: TensorInfo) =>
    runWasmKernel('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });
  let dW: TensorInfo; // [taps·C, O]
  if (columns <= SMALL_COLUMNS) {
    dW = patchesTransposedTimes(backend, patches, dy, rows, columns, outChannels);
    release(backend, patches);
  } else if (columns < outChannels) {
    // dyᵀ·patches: XNNPACK packs the right operand anew for every fresh tensor, so the smaller of
    // patches and dy goes on the right.
    const dyT = transposeMatrices(backend, view(dy, [1, rows, outChannels]));
    const m = product(view(dyT, [1, outChannels, rows]), view(patches, [1, rows, columns])); // [O, taps·C]
    release(backend, dyT, patches);
    dW = transposeMatrices(backend, view(m, [1, outChannels, columns]));
    release(backend, m);
  } else {
    const patchesT = transposeMatrices(backend, view(patches, [1, rows, columns]));
    release(backend, patches);
    dW = product(view(patchesT, [1, columns, rows]), view(dy, [1, rows, outChannels]));
    release(backend, patchesT);
  }
  return view(dW, filterShape);
}

/**
 * Up to this many patch columns (taps·C) the compiled patchesᵀ·dy runs without transposing
 * anything: 2.6× faster than transposing for XNNPACK on the benchmark CNN's first conv (9
 * columns), 1.1× on its second (144), even at 576 (3×3×64). Beyond, one chunk of patch rows
 * outgrows the cache and XNNPACK's blocked product is the safer choice.
 */
const SMALL_COLUMNS = 576;

function patchesTransposedTimes(
  backend: WasmBackend,
  a: TensorInfo,
  b: TensorInfo,
  rows: number,
  m: number,
  n: number,
): TensorInfo {
  const out = backend.makeOutput([m, n], 'float32');
  if (m * n === 0) return out;
  compiledKernels(backend).matmulTransposeA(
    pointerOf(backend, a),
    pointerOf(backend, b),
    pointerOf(backend, out),
    rows,
    m,
    n,
  );
  return out;
}

const conv2dBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as WasmBackend;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
    strides: [number, number] | number;
    pad: PadAttr;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  const window: WindowAttrs = { strides, dilations: 1, pad };
  if (dimRoundingMode !== undefined) window.dimRoundingMode = dimRoundingMode;
  if (!isChannelsFirst(dataFormat)) {
    return conv2dFilterGradientNHWC(wasm, x, dy, filterShape, window);
  }
  const xLast = toChannelsLast(wasm, x);
  const dyLast = toChannelsLast(wasm, dy);
  const out = conv2dFilterGradientNHWC(wasm, xLast, dyLast, filterShape, window);
  release(wasm, xLast, dyLast);
  return out;
};

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter,
};
