import { getKernel, type KernelConfig, type KernelFunc, type TensorInfo, util } from '@tensorflow/tfjs';
import { compiledKernels, pointerOf } from './compiled.js';
import { sizeOf, type WasmBackend } from './kernel-utils.js';

/**
 * Sum over leading axes of a float32 tensor (`sum(x, [0, …, k−1])`: every bias gradient, and
 * batch statistics) as column sums in one compiled pass. tfjs-backend-wasm first transposes the
 * whole input to bring the reduced axes innermost (a full copy: 2 ms of a CNN step for the first
 * conv's bias). Other reductions go to tfjs's kernel.
 */
function leadingAxes(axes: number[], rank: number): number | undefined {
  const sorted = [...axes].sort((a, b) => a - b);
  if (sorted.length === 0 || sorted.length >= rank) return undefined;
  return sorted.every((axis, i) => axis === i) ? sorted.length : undefined;
}

const sum =
  (tfjsSum: KernelFunc): KernelFunc =>
  ({ inputs, backend, attrs }) => {
    const wasm = backend as WasmBackend;
    const { x } = inputs as { x: TensorInfo };
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = util.parseAxisParam(axis, x.shape);
    const k = x.dtype === 'float32' ? leadingAxes(axes, x.shape.length) : undefined;
    if (k === undefined) return tfjsSum({ inputs, backend, attrs });
    const trailing = x.shape.slice(k);
    const outShape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...trailing] : trailing;
    const out = wasm.makeOutput(outShape, 'float32');
    const width = sizeOf(trailing);
    if (width === 0) return out;
    compiledKernels(wasm).columnSum(
      pointerOf(wasm, x),
      pointerOf(wasm, out),
      sizeOf(x.shape.slice(0, k)),
      width,
    );
    return out;
  };

export const sumConfig = (): KernelConfig => {
  const original = getKernel('Sum', 'wasm');
  if (original === undefined)
    throw new Error("@tensorloop/backend-wasm: tfjs-backend-wasm has no 'Sum' kernel to patch.");
  const config: KernelConfig = {
    kernelName: 'Sum',
    backendName: 'wasm',
    kernelFunc: sum(original.kernelFunc),
  };
  if (original.setupFunc !== undefined) config.setupFunc = original.setupFunc;
  return config;
};
