import './register.js';
import { KERNEL_PATCHES } from './kernels.js';

/** Names of the 'wasm' kernels this package added or replaced. */
export const patchedKernels: readonly string[] = Object.freeze(KERNEL_PATCHES.map((p) => p.kernelName));

export { describe } from './describe.js';
export type { BackendWasmErrorCode } from './errors.js';
export {
  initWasmBackend,
  type WasmBackendInfo,
  type WasmBackendOptions,
  type WasmBinaryName,
} from './init.js';
export { TESTED_TFJS } from './version-check.js';
