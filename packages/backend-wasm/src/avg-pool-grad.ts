import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { compiledKernels, pointerOf } from './compiled.js';
import { sizeOf, type WasmBackend } from './kernel-utils.js';
import { type PoolAttrs, poolGeometry } from './pool-window.js';

/**
 * AvgPoolGrad, with the semantics of tfjs's kernels (cpu's): each input pixel of a window gets
 * dy / (filterHeight·filterWidth). tfjs-backend-wasm's version loops per element in JS; this is
 * one compiled SIMD scatter over the wasm heap.
 */
const avgPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as WasmBackend;
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const { info, args } = poolGeometry(input, attrs as unknown as PoolAttrs);
  const dx = wasm.makeOutput(input.shape, 'float32');
  if (sizeOf(input.shape) === 0) return dx;
  const multiplier = 1 / (info.filterHeight * info.filterWidth);
  compiledKernels(wasm).avgPoolGrad(pointerOf(wasm, dy), pointerOf(wasm, dx), ...args, multiplier);
  return dx;
};

export const avgPoolGradConfig: KernelConfig = {
  kernelName: 'AvgPoolGrad',
  backendName: 'wasm',
  kernelFunc: avgPoolGrad,
};
