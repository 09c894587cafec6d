import type { TensorInfo } from '@tensorflow/tfjs';
import { transpose, type WasmBackend } from './kernel-utils.js';

/** Kernels below compute in NHWC; NCHW inputs are transposed in and results transposed out. */
export function toChannelsLast(backend: WasmBackend, x: TensorInfo): TensorInfo {
  return transpose(backend, x, [0, 2, 3, 1]);
}

export function toChannelsFirst(backend: WasmBackend, x: TensorInfo): TensorInfo {
  return transpose(backend, x, [0, 3, 1, 2]);
}

export function isChannelsFirst(dataFormat: unknown): boolean {
  return dataFormat === 'NCHW' || dataFormat === 'channelsFirst';
}
