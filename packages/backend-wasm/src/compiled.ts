import type { TensorInfo } from '@tensorflow/tfjs';
import { COMPILED_KERNELS_BASE64 } from './compiled-binary.generated.js';
import type { WasmBackend } from './kernel-utils.js';

/**
 * The kernels of `assembly/kernels.ts`, compiled to wasm SIMD at build time and instantiated
 * once per tfjs-backend-wasm instance over *its* memory: pointers are offsets into tfjs's heap,
 * so the kernels read and write tensors in place, with no copy in or out. (Signatures mirror the
 * AssemblyScript source; see it for what each computes.)
 */
export interface CompiledKernels {
  maxPoolGrad(
    x: number,
    dy: number,
    dx: number,
    batch: number,
    inH: number,
    inW: number,
    channels: number,
    outH: number,
    outW: number,
    effH: number,
    effW: number,
    strideH: number,
    strideW: number,
    dilH: number,
    dilW: number,
    padTop: number,
    padLeft: number,
  ): void;
  avgPoolGrad(
    dy: number,
    dx: number,
    batch: number,
    inH: number,
    inW: number,
    channels: number,
    outH: number,
    outW: number,
    effH: number,
    effW: number,
    strideH: number,
    strideW: number,
    dilH: number,
    dilW: number,
    padTop: number,
    padLeft: number,
    multiplier: number,
  ): void;
  im2col(
    x: number,
    out: number,
    batch: number,
    inH: number,
    inW: number,
    channels: number,
    outH: number,
    outW: number,
    filterH: number,
    filterW: number,
    strideH: number,
    strideW: number,
    dilH: number,
    dilW: number,
    padTop: number,
    padLeft: number,
  ): void;
  adamUpdate(
    param: number,
    grad: number,
    m: number,
    v: number,
    outParam: number,
    outM: number,
    outV: number,
    size: number,
    hasM: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    coupledDecay: number,
    decayFactor: number,
    invSqrtBc2: number,
    eps: number,
    stepSize: number,
  ): void;
  sgdUpdate(
    param: number,
    grad: number,
    buffer: number,
    outParam: number,
    outBuffer: number,
    size: number,
    hasBuffer: number,
    lr: number,
    momentum: number,
    oneMinusDampening: number,
    weightDecay: number,
    nesterov: number,
  ): void;
  transposeMatrices(src: number, dst: number, batch: number, rows: number, cols: number): void;
  columnSum(x: number, out: number, rows: number, width: number): void;
  matmulTransposeA(a: number, b: number, out: number, rows: number, m: number, n: number): void;
  addRows(a: number, b: number, out: number, rows: number, width: number): void;
  reluGrad(dy: number, x: number, out: number, size: number): void;
  nonFinite(x: number, size: number): number;
}

let compiledModule: WebAssembly.Module | undefined;
const instances = new WeakMap<object, CompiledKernels>();

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** tfjs-backend-wasm's WebAssembly.Memory (Emscripten keeps the instance exports in `asm`). */
function memoryOf(backend: WasmBackend): WebAssembly.Memory {
  const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new Error('@tensorloop/backend-wasm: cannot find the memory of tfjs-backend-wasm.');
  }
  return memory;
}

/**
 * Compiles the kernels module asynchronously (`initWasmBackend` awaits it): browsers refuse
 * synchronous compilation of modules over 4 KB on the main thread, and this one is about 6 KB.
 */
export async function precompileKernels(): Promise<void> {
  compiledModule ??= await WebAssembly.compile(decodeBase64(COMPILED_KERNELS_BASE64) as BufferSource);
}

export function compiledKernels(backend: WasmBackend): CompiledKernels {
  let kernels = instances.get(backend.wasm);
  if (kernels === undefined) {
    // Synchronous when `precompileKernels` has not run (fine in Node and workers).
    compiledModule ??= new WebAssembly.Module(decodeBase64(COMPILED_KERNELS_BASE64) as BufferSource);
    const instance = new WebAssembly.Instance(compiledModule, { env: { memory: memoryOf(backend) } });
    kernels = instance.exports as unknown as CompiledKernels;
    instances.set(backend.wasm, kernels);
  }
  return kernels;
}

/** Byte offset of a tensor's data in the wasm heap. */
export function pointerOf(backend: WasmBackend, info: TensorInfo): number {
  return backend.getMemoryOffset(info.dataId);
}
