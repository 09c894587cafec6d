import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { compiledKernels, pointerOf } from './compiled.js';
import { sizeOf, type WasmBackend } from './kernel-utils.js';
import { type PoolAttrs, poolGeometry } from './pool-window.js';

/**
 * MaxPoolGrad. tfjs-backend-wasm's kernel starts each window's running maximum at
 * `numeric_limits<float>::min()` — the smallest *positive* float — so a window whose values are
 * all ≤ 0 routes its gradient to the window's first pixel instead of its maximum, and ties go to
 * the last maximum where cpu/webgl pick the first. This kernel routes each output's gradient to
 * the first maximum of its window (padding never wins), exactly as the cpu backend does: one
 * compiled SIMD pass over the wasm heap, four channels at a time.
 */
const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as WasmBackend;
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const { args } = poolGeometry(input, attrs as unknown as PoolAttrs);
  const dx = wasm.makeOutput(input.shape, 'float32');
  if (sizeOf(input.shape) === 0) return dx;
  compiledKernels(wasm).maxPoolGrad(
    pointerOf(wasm, input),
    pointerOf(wasm, dy),
    pointerOf(wasm, dx),
    ...args,
  );
  return dx;
};

export const maxPoolGradConfig: KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGrad,
};
