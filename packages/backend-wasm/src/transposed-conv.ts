import type { backend_util, TensorInfo } from '@tensorflow/tfjs';
import { padOrCrop, release, runWasmKernel, view, type WasmBackend } from './kernel-utils.js';

/**
 * The input gradient of a strided, padded, dilated convolution is a stride-1 'valid' convolution
 * of `dy` — spread out by the stride (zeros between rows/cols) and re-padded — with the filter
 * flipped in space. This builds that spread, re-padded `dy` (NHWC); the caller owns the result.
 *
 * Derivation per axis: x_p[h'] = Σ_{y,i: y·s + i·d = h'} dy[y]·f[i]. With U the stride-spread dy
 * (U[y·s] = dy[y]) and i' = fh-1-i this is Σ_{i'} U[h' - (fh-1)·d + i'·d]·f[fh-1-i'], a valid
 * correlation of U shifted by (fh-1)·d - padTop, read for h = h' - padTop in [0, H).
 */
export function spreadAndPadGradient(
  backend: WasmBackend,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const [batch, outHeight, outWidth, channels] = dy.shape as [number, number, number, number];
  const { strideHeight, strideWidth, dilationHeight, dilationWidth, filterHeight, filterWidth } = info;
  let spread = dy;
  let owned = false;
  if (strideHeight > 1 || strideWidth > 1) {
    const padded = runWasmKernel(
      'PadV2',
      backend,
      { x: view(dy, [batch, outHeight, 1, outWidth, 1, channels]) },
      {
        paddings: [
          [0, 0],
          [0, 0],
          [0, strideHeight - 1],
          [0, 0],
          [0, strideWidth - 1],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    spread = view(padded, [batch, outHeight * strideHeight, outWidth * strideWidth, channels]);
    owned = true;
  }
  const reachHeight = (filterHeight - 1) * dilationHeight;
  const reachWidth = (filterWidth - 1) * dilationWidth;
  const result = padOrCrop(
    backend,
    spread,
    [0, reachHeight - info.padInfo.top, reachWidth - info.padInfo.left, 0],
    [batch, info.inHeight + reachHeight, info.inWidth + reachWidth, channels],
  );
  if (owned) release(backend, spread);
  return result;
}

/** The filter flipped along both spatial axes; the caller owns the result. */
export function flipSpatially(backend: WasmBackend, filter: TensorInfo): TensorInfo {
  return runWasmKernel('Reverse', backend, { x: filter }, { dims: [0, 1] });
}
