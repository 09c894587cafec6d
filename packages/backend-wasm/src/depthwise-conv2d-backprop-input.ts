import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import { type PadAttr, release, runWasmKernel, view, type WasmBackend } from './kernel-utils.js';
import { flipSpatially, spreadAndPadGradient } from './transposed-conv.js';

/**
 * DepthwiseConv2dNativeBackpropInput (input gradient of depthwiseConv2d / separableConv2d),
 * missing from tfjs-backend-wasm. Each of the C·M gradient channels is correlated with its own
 * flipped filter tap (an XNNPACK depthwise conv, multiplier 1, with the forward dilation), then
 * the M multiplier channels of each input channel are summed.
 */
const depthwiseConv2dNativeBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as WasmBackend;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as {
    strides: [number, number] | number;
    dilations: [number, number] | number;
    pad: PadAttr;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    inputShape: [number, number, number, number];
  };
  const filterShape = filter.shape as [number, number, number, number];
  const [filterHeight, filterWidth, channels, multiplier] = filterShape;
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  const spread = spreadAndPadGradient(wasm, dy, info);
  const flipped = flipSpatially(wasm, filter);
  const perChannel = runWasmKernel(
    'DepthwiseConv2dNative',
    wasm,
    { x: spread, filter: view(flipped, [filterHeight, filterWidth, channels * multiplier, 1]) },
    {
      strides: [1, 1],
      pad: 'valid',
      dataFormat: 'NHWC',
      dilations: [info.dilationHeight, info.dilationWidth],
    },
  );
  release(wasm, spread, flipped);
  if (multiplier === 1) return perChannel;
  const [batch, height, width] = inputShape;
  const dx = runWasmKernel(
    'Sum',
    wasm,
    { x: view(perChannel, [batch, height, width, channels, multiplier]) },
    { axis: [4], keepDims: false },
  );
  release(wasm, perChannel);
  return dx;
};

export const depthwiseConv2dNativeBackpropInputConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropInput,
};
