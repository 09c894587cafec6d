import type { backend_util, TensorInfo } from '@tensorflow/tfjs';
import { compiledKernels, pointerOf } from './compiled.js';
import type { PadAttr, WasmBackend } from './kernel-utils.js';

export interface WindowAttrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: PadAttr;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Image patches of an NHWC input as `[N·outH·outW, taps·C]`, tap-major (column t·C + c, with
 * tap t = i·filterWidth + j), zeros in the padding: a direct im2col (one compiled pass copying
 * contiguous channel runs). The geometry (stride, padding, dilation, rounding) is `info`'s, that
 * of the forward op. Tap-major columns make `patchesᵀ·dy` come out in the filter layout
 * `[fh, fw, C, O]`. The caller owns the result.
 */
export function extractPatches(
  backend: WasmBackend,
  x: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize, outHeight, outWidth, filterHeight, filterWidth, inChannels } = info;
  const rows = batchSize * outHeight * outWidth;
  const patches = backend.makeOutput([rows, filterHeight * filterWidth * inChannels], 'float32');
  if (rows * filterHeight * filterWidth * inChannels === 0) return patches;
  compiledKernels(backend).im2col(
    pointerOf(backend, x),
    pointerOf(backend, patches),
    batchSize,
    info.inHeight,
    info.inWidth,
    inChannels,
    outHeight,
    outWidth,
    filterHeight,
    filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
  return patches;
}
