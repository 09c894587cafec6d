import { backend_util, type TensorInfo } from '@tensorflow/tfjs';
import type { PadAttr } from './kernel-utils.js';

export interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: PadAttr;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The window geometry of a 2-D pool, in the argument order of the compiled pooling kernels. */
export function poolGeometry(input: TensorInfo, attrs: PoolAttrs) {
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  return {
    info,
    args: [
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.inChannels,
      info.outHeight,
      info.outWidth,
      info.effectiveFilterHeight,
      info.effectiveFilterWidth,
      info.strideHeight,
      info.strideWidth,
      info.dilationHeight,
      info.dilationWidth,
      info.padInfo.top,
      info.padInfo.left,
    ] as const,
  };
}
