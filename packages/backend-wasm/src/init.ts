import { env, getBackend, ready, setBackend, version_core } from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { precompileKernels } from './compiled.js';
import { TensorloopError } from './errors.js';
import { KERNEL_PATCHES } from './kernels.js';

export interface WasmBackendOptions {
  /**
   * Threads for XNNPACK. Only used in browsers with cross-origin isolation; tfjs-backend-wasm
   * never uses threads in Node, where this is ignored.
   */
  threads?: number;
  /**
   * Where the .wasm binaries live: a directory prefix or a per-file map (see tfjs's
   * `setWasmPaths`). Default in Node: the installed @tensorflow/tfjs-backend-wasm's `dist/`;
   * in browsers: tfjs's default (next to the script).
   */
  wasmPaths?: string | Partial<Record<WasmBinaryName, string>>;
}

export type WasmBinaryName =
  | 'tfjs-backend-wasm.wasm'
  | 'tfjs-backend-wasm-simd.wasm'
  | 'tfjs-backend-wasm-threaded-simd.wasm';

export interface WasmBackendInfo {
  backend: 'wasm';
  /** @tensorflow/tfjs-core version. */
  tfjsVersion: string;
  /** @tensorflow/tfjs-backend-wasm version. */
  wasmVersion: string;
  simd: boolean;
  /** Threads XNNPACK actually uses (1 in Node). */
  threads: number;
  /** The wasm binary location passed to tfjs, or null when tfjs's default was kept. */
  wasmPaths: string | Readonly<Record<string, string>> | null;
  patchedKernels: readonly string[];
}

function isNode(): boolean {
  return typeof process !== 'undefined' && process.versions?.node != null;
}

/** The installed tfjs-backend-wasm's dist directory, with a trailing separator. */
async function installedWasmDir(): Promise<string> {
  const { createRequire } = await import('node:module');
  const path = await import('node:path');
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

let pathsChosen: WasmBackendInfo['wasmPaths'] | undefined;

async function chooseWasmPaths(options: WasmBackendOptions): Promise<WasmBackendInfo['wasmPaths']> {
  // tfjs reads the paths once, when the backend first initializes; later calls cannot move it.
  if (pathsChosen !== undefined) return pathsChosen;
  let paths: WasmBackendInfo['wasmPaths'] = null;
  if (options.wasmPaths !== undefined) {
    paths = options.wasmPaths as WasmBackendInfo['wasmPaths'];
    setWasmPaths(options.wasmPaths as string);
  } else if (isNode()) {
    paths = await installedWasmDir();
    setWasmPaths(paths);
  }
  pathsChosen = paths;
  return paths;
}

/**
 * Makes 'wasm' the active tfjs backend, with the training kernels of this package registered
 * (they are registered on import), and reports what it runs on.
 */
export async function initWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackendInfo> {
  const wasmPaths = await chooseWasmPaths(options);
  if (options.threads !== undefined) setThreadsCount(options.threads);
  let ok = false;
  let cause: unknown;
  try {
    await precompileKernels();
    ok = await setBackend('wasm');
    await ready();
  } catch (error) {
    cause = error;
  }
  if (!ok || getBackend() !== 'wasm') {
    throw new TensorloopError(
      'TL_BACKEND_UNAVAILABLE',
      `tfjs could not initialize the 'wasm' backend${cause instanceof Error ? `: ${cause.message}` : ''}. ` +
        `Expected the .wasm binaries at ${wasmPaths === null ? "tfjs's default location" : JSON.stringify(wasmPaths)}; ` +
        'pass `wasmPaths` (a directory ending in "/" or a per-file map) where they are served, or use the cpu backend.',
      { cause },
    );
  }
  return {
    backend: 'wasm',
    tfjsVersion: version_core,
    wasmVersion: version_wasm,
    simd: Boolean(await env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    threads: getThreadsCount(),
    wasmPaths,
    patchedKernels: KERNEL_PATCHES.map((p) => p.kernelName),
  };
}
