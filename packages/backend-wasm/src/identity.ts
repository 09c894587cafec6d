import { getKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackend } from './kernel-utils.js';

/**
 * Identity (and Cast to the tensor's own dtype) share the input's data, as on the cpu backend,
 * instead of copying it. tfjs's engine clones, through Identity, every tensor it saves for the
 * backward pass, so on wasm each training step copied every activation and weight it kept (three
 * copies of the first conv's output per CNN step). tfjs data is immutable: sharing is what cpu
 * and webgl do. String tensors keep tfjs's kernels.
 */
function share(backend: WasmBackend, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function original(name: string): KernelFunc {
  const kernel = getKernel(name, 'wasm');
  if (kernel === undefined) {
    throw new Error(`@tensorloop/backend-wasm: tfjs-backend-wasm has no '${name}' kernel to patch.`);
  }
  return kernel.kernelFunc;
}

export const identityConfig = (): KernelConfig => {
  const tfjsIdentity = original('Identity');
  return {
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      return x.dtype === 'string' ? tfjsIdentity(args) : share(args.backend as WasmBackend, x);
    },
  };
};

export const castConfig = (): KernelConfig => {
  const tfjsCast = original('Cast');
  return {
    kernelName: 'Cast',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const { dtype } = args.attrs as { dtype: string };
      return dtype === x.dtype && x.dtype !== 'string'
        ? share(args.backend as WasmBackend, x)
        : tfjsCast(args);
    },
  };
};
