import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import { type PadAttr, release, runWasmKernel, transpose, view, type WasmBackend } from './kernel-utils.js';
import { isChannelsFirst, toChannelsLast } from './layout.js';
import { extractPatches, type WindowAttrs } from './patches.js';
import { transposeMatrices } from './transpose-matrices.js';

/**
 * Conv2DBackpropFilter (the filter gradient of conv2d, conv1d and separableConv2d), missing from
 * tfjs-backend-wasm. dW[i,j,c,o] = Σ_rows patch[row, c, (i,j)] · dy[row, o]: one matrix product
 * of the image patches and dy, which XNNPACK runs; whichever of the two operands is smaller is
 * the one transposed.
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
  const taps = filterHeight * filterWidth;
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const patches = view(extractPatches(backend, x, info, window), [rows, inChannels * taps]);
  const dy2 = view(dy, [rows, outChannels]);
  const product = (a: TensorInfo, b: TensorInfo) =>
    runWasmKernel('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });
  let byTap: TensorInfo; // [taps, C, O]
  if (outChannels <= inChannels * taps) {
    const dyT = transposeMatrices(backend, view(dy2, [1, rows, outChannels]));
    const m = product(view(dyT, [1, outChannels, rows]), view(patches, [1, rows, inChannels * taps])); // [O, C·taps]
    release(backend, dyT, patches);
    byTap = transpose(backend, view(m, [outChannels, inChannels, taps]), [2, 1, 0]);
    release(backend, m);
  } else {
    const patchesT = transposeMatrices(backend, view(patches, [1, rows, inChannels * taps]));
    release(backend, patches);
    const m = product(view(patchesT, [1, inChannels * taps, rows]), view(dy2, [1, rows, outChannels])); // [C·taps, O]
    release(backend, patchesT);
    byTap = transpose(backend, view(m, [inChannels, taps, outChannels]), [1, 0, 2]);
    release(backend, m);
  }
  return view(byTap, filterShape);
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
