import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import { type PadAttr, release, runWasmKernel, transpose, type WasmBackend } from './kernel-utils.js';
import { isChannelsFirst, toChannelsFirst, toChannelsLast } from './layout.js';
import { flipSpatially, spreadAndPadGradient } from './transposed-conv.js';

/**
 * Conv2DBackpropInput (the input gradient of conv2d; also conv2dTranspose). tfjs-backend-wasm has
 * one, but it is a scalar six-deep loop about 5× slower than its XNNPACK forward conv. We run it
 * as an XNNPACK stride-1 convolution of the stride-spread gradient with the flipped filter.
 */
export function conv2dInputGradientNHWC(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  inputShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: PadAttr,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
): TensorInfo {
  const filterShape = filter.shape as [number, number, number, number];
  const info = backend_util.computeConv2DInfo(inputShape, filterShape, strides, 1, pad, dimRoundingMode);
  const spread = spreadAndPadGradient(backend, dy, info);
  const flipped = flipSpatially(backend, filter);
  const swapped = transpose(backend, flipped, [0, 1, 3, 2]); // [fh, fw, out, in]
  release(backend, flipped);
  const dx = runWasmKernel(
    'Conv2D',
    backend,
    { x: spread, filter: swapped },
    { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] },
  );
  release(backend, spread, swapped);
  return dx;
}

const conv2dBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as WasmBackend;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as {
    strides: [number, number] | number;
    pad: PadAttr;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    inputShape: [number, number, number, number];
  };
  if (!isChannelsFirst(dataFormat)) {
    return conv2dInputGradientNHWC(wasm, dy, filter, inputShape, strides, pad, dimRoundingMode);
  }
  const [n, c, h, w] = inputShape;
  const dyLast = toChannelsLast(wasm, dy);
  const dxLast = conv2dInputGradientNHWC(wasm, dyLast, filter, [n, h, w, c], strides, pad, dimRoundingMode);
  const dx = toChannelsFirst(wasm, dxLast);
  release(wasm, dyLast, dxLast);
  return dx;
};

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput,
};
