import type { backend_util, TensorInfo } from '@tensorflow/tfjs';
import { type PadAttr, runWasmKernel, type WasmBackend } from './kernel-utils.js';

export interface WindowAttrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: PadAttr;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Image patches of an NHWC input as `[N, outH, outW, C·taps]`, channel-major (index c·taps + t,
 * with tap t = i·filterWidth + j). They come from one XNNPACK depthwise convolution whose
 * filter picks tap t into output channel t of each input channel, so the forward op's stride,
 * padding, dilation and rounding apply unchanged. The caller owns the result.
 */
export function extractPatches(
  backend: WasmBackend,
  x: TensorInfo,
  info: backend_util.Conv2DInfo,
  window: WindowAttrs,
): TensorInfo {
  const { filterHeight, filterWidth, inChannels } = info;
  const taps = filterHeight * filterWidth;
  const picks = new Float32Array(taps * inChannels * taps);
  // filter[i, j, c, t] = 1 where t = i·fw + j.
  for (let t = 0; t < taps; t++) {
    for (let c = 0; c < inChannels; c++) picks[(t * inChannels + c) * taps + t] = 1;
  }
  const filter = backend.makeOutput(
    [filterHeight, filterWidth, inChannels, taps],
    'float32',
    undefined,
    picks,
  );
  const attrs: Record<string, unknown> = {
    strides: window.strides,
    dilations: window.dilations,
    pad: window.pad,
    dataFormat: 'NHWC',
  };
  if (window.dimRoundingMode !== undefined) attrs.dimRoundingMode = window.dimRoundingMode;
  const patches = runWasmKernel(
    'DepthwiseConv2dNative',
    backend,
    { x, filter },
    attrs as Parameters<typeof runWasmKernel>[3],
  );
  backend.disposeData(filter.dataId);
  return patches;
}
