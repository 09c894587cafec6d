import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import type { PadAttr, WasmBackend } from './kernel-utils.js';

/**
 * MaxPoolGrad. tfjs-backend-wasm's kernel starts each window's running maximum at
 * `numeric_limits<float>::min()` — the smallest *positive* float — so a window whose values are
 * all ≤ 0 routes its gradient to the window's first pixel instead of its maximum, and ties go to
 * the last maximum where cpu/webgl pick the first. This kernel routes each output's gradient to
 * the first maximum of its window (padding never wins), exactly as the cpu backend does, in one
 * pass over the wasm heap.
 */
const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as WasmBackend;
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: PadAttr;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const dx = wasm.makeOutput(input.shape, 'float32');
  // Views are taken after the allocation above: growing the wasm heap detaches older views.
  const out = wasm.typedArrayFromHeap(dx) as Float32Array;
  const x = wasm.typedArrayFromHeap(input) as Float32Array;
  const g = wasm.typedArrayFromHeap(dy) as Float32Array;
  out.fill(0);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { effectiveFilterHeight, effectiveFilterWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const rowStride = inWidth * inChannels;
  const imageStride = inHeight * rowStride;
  // Channels are contiguous in NHWC: track the running maximum of every channel of one output
  // pixel at once, so the inner loop walks memory linearly.
  const best = new Float32Array(inChannels);
  const bestIndex = new Int32Array(inChannels);
  let dyBase = 0;
  for (let n = 0; n < batchSize; n++) {
    const imageBase = n * imageStride;
    for (let oh = 0; oh < outHeight; oh++) {
      const hStart = oh * strideHeight - padTop;
      for (let ow = 0; ow < outWidth; ow++, dyBase += inChannels) {
        const wStart = ow * strideWidth - padLeft;
        best.fill(Number.NEGATIVE_INFINITY);
        bestIndex.fill(-1);
        for (let fh = 0; fh < effectiveFilterHeight; fh += dilationHeight) {
          const h = hStart + fh;
          if (h < 0 || h >= inHeight) continue;
          for (let fw = 0; fw < effectiveFilterWidth; fw += dilationWidth) {
            const w = wStart + fw;
            if (w < 0 || w >= inWidth) continue;
            const pixel = imageBase + h * rowStride + w * inChannels;
            for (let c = 0; c < inChannels; c++) {
              const value = x[pixel + c]!;
              if (value > best[c]!) {
                best[c] = value;
                bestIndex[c] = pixel + c;
              }
            }
          }
        }
        for (let c = 0; c < inChannels; c++) {
          const index = bestIndex[c]!;
          if (index >= 0) out[index] = out[index]! + g[dyBase + c]!;
        }
      }
    }
  }
  return dx;
};

export const maxPoolGradConfig: KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGrad,
};
