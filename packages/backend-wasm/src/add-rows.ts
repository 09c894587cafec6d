import { getKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import { compiledKernels, pointerOf } from './compiled.js';
import { sizeOf, type WasmBackend } from './kernel-utils.js';

/**
 * Add where one float32 operand is broadcast along the leading axes of the other (`x + bias`:
 * the bias of every dense and conv layer in training, where tfjs does not fuse it into the
 * product) as one compiled pass adding the short operand to each row. tfjs-backend-wasm runs
 * such an add through its generic broadcasting loop, which recomputes indices per element. Other
 * adds go to tfjs's kernel. float32 addition commutes, so the results are identical.
 */
function rowBroadcast(long: TensorInfo, short: TensorInfo): number | undefined {
  if (short.shape.length > long.shape.length) return undefined;
  let first = 0;
  while (first < short.shape.length && short.shape[first] === 1) first++;
  const trailing = short.shape.slice(first);
  const offset = long.shape.length - trailing.length;
  if (!trailing.every((d, i) => d === long.shape[offset + i])) return undefined;
  const width = sizeOf(trailing);
  return width < sizeOf(long.shape) ? width : undefined;
}

const add =
  (tfjsAdd: KernelFunc): KernelFunc =>
  ({ inputs, backend, attrs }) => {
    const wasm = backend as WasmBackend;
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return tfjsAdd({ inputs, backend, attrs });
    let long = a;
    let short = b;
    let width = rowBroadcast(a, b);
    if (width === undefined) {
      long = b;
      short = a;
      width = rowBroadcast(b, a);
    }
    if (width === undefined) return tfjsAdd({ inputs, backend, attrs });
    const out = wasm.makeOutput([...long.shape], 'float32');
    if (width === 0) return out;
    compiledKernels(wasm).addRows(
      pointerOf(wasm, long),
      pointerOf(wasm, short),
      pointerOf(wasm, out),
      sizeOf(long.shape) / width,
      width,
    );
    return out;
  };

export const addConfig = (): KernelConfig => {
  const original = getKernel('Add', 'wasm');
  if (original === undefined)
    throw new Error("@tensorloop/backend-wasm: tfjs-backend-wasm has no 'Add' kernel to patch.");
  const config: KernelConfig = {
    kernelName: 'Add',
    backendName: 'wasm',
    kernelFunc: add(original.kernelFunc),
  };
  if (original.setupFunc !== undefined) config.setupFunc = original.setupFunc;
  return config;
};
