import {
  engine,
  type GradConfig,
  getBackend,
  getGradient,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  registerGradient,
  type Tensor,
  type TensorInfo,
  util,
  zerosLike,
} from '@tensorflow/tfjs';
import { compiledKernels, pointerOf } from './compiled.js';
import { sizeOf, type WasmBackend } from './kernel-utils.js';

/**
 * The relu gradient `dy·step(x)` in one compiled pass. tfjs-core's gradient of Relu runs Step then
 * Multiply: two passes that each write a tensor of the layer's activation size (two of the ten
 * largest kernels of a CNN step). The Relu gradient registered below calls this kernel when the
 * active backend is wasm and both tensors are float32 of one shape, and tfjs-core's own gradient
 * otherwise, so other backends are untouched.
 */
export const RELU_GRAD = 'TensorloopReluGrad';

const reluGrad: KernelFunc = ({ inputs, backend }) => {
  const wasm = backend as WasmBackend;
  const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
  if (dy.dtype !== 'float32' || x.dtype !== 'float32' || !util.arraysEqual(dy.shape, x.shape)) {
    throw new Error(`@tensorloop/backend-wasm: ${RELU_GRAD} needs float32 dy and x of one shape.`);
  }
  const out = wasm.makeOutput([...x.shape], 'float32');
  const size = sizeOf(x.shape);
  if (size > 0)
    compiledKernels(wasm).reluGrad(pointerOf(wasm, dy), pointerOf(wasm, x), pointerOf(wasm, out), size);
  return out;
};

export const reluGradConfig: KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: 'wasm',
  kernelFunc: reluGrad,
};

function fusedApplies(dy: Tensor, x: Tensor): boolean {
  return (
    getBackend() === 'wasm' &&
    dy.dtype === 'float32' &&
    x.dtype === 'float32' &&
    util.arraysEqual(dy.shape, x.shape) &&
    getKernel(RELU_GRAD, 'wasm') !== undefined
  );
}

/** Re-registers Relu's gradient to dispatch to `RELU_GRAD` on wasm (see above); once per tfjs-core. */
export function registerReluGradient(): void {
  const original = getGradient('Relu');
  if (original === undefined) return;
  const config: GradConfig = {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [Tensor];
      const grad = dy as Tensor;
      if (!fusedApplies(grad, x)) return original.gradFunc(dy, saved, attrs);
      return { x: () => engine().runKernel(RELU_GRAD, { dy: grad, x }) as Tensor };
    },
  };
  registerGradient(config);
  // Its own gradient, for second derivatives: linear in dy with the same step; zero in x.
  registerGradient({
    kernelName: RELU_GRAD,
    inputsToSave: ['x'],
    gradFunc: (dz, saved) => {
      const [x] = saved as [Tensor];
      return {
        dy: () => engine().runKernel(RELU_GRAD, { dy: dz as Tensor, x }) as Tensor,
        x: () => zerosLike(x),
      };
    },
  });
}
