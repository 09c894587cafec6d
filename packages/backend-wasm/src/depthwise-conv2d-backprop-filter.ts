import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import { type PadAttr, release, runWasmKernel, transpose, view, type WasmBackend } from './kernel-utils.js';
import { extractPatches } from './patches.js';

/**
 * DepthwiseConv2dNativeBackpropFilter (filter gradient of depthwiseConv2d / separableConv2d),
 * missing from tfjs-backend-wasm. Per input channel c: dW[:, c, :] = patches_cᵀ · dy_c, a batch
 * of C matrix products `[taps, rows] × [rows, M]`.
 */
const depthwiseConv2dNativeBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as WasmBackend;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as {
    strides: [number, number] | number;
    dilations: [number, number] | number;
    pad: PadAttr;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  const [filterHeight, filterWidth, channels, multiplier] = filterShape;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const taps = filterHeight * filterWidth;
  const patches = extractPatches(wasm, x, info); // [rows, taps·C]
  const patchesByChannel = transpose(wasm, view(patches, [rows, taps, channels]), [2, 1, 0]); // [C, taps, rows]
  release(wasm, patches);
  const dyByChannel = transpose(wasm, view(dy, [rows, channels, multiplier]), [1, 0, 2]); // [C, rows, M]
  const product = runWasmKernel(
    'BatchMatMul',
    wasm,
    { a: patchesByChannel, b: dyByChannel },
    { transposeA: false, transposeB: false },
  ); // [C, taps, M]
  release(wasm, patchesByChannel, dyByChannel);
  const dW = transpose(wasm, product, [1, 0, 2]); // [taps, C, M]
  release(wasm, product);
  return view(dW, [filterHeight, filterWidth, channels, multiplier]);
};

export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropFilter,
};
