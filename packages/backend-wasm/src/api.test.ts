import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { describe as describePatches, initWasmBackend, patchedKernels, TESTED_TFJS } from './index.js';
import { assertTestedVersions } from './version-check.js';

describe('initWasmBackend', () => {
  it('activates wasm with the installed binaries and reports it', async () => {
    const info = await initWasmBackend({ threads: 2 });
    expect(tf.getBackend()).toBe('wasm');
    expect(info.backend).toBe('wasm');
    expect(info.tfjsVersion).toBe(tf.version_core);
    expect(info.wasmVersion).toMatch(/^4\.22\./);
    expect(info.simd).toBe(true);
    expect(info.threads).toBe(1); // tfjs-backend-wasm never uses threads in Node
    expect(String(info.wasmPaths)).toMatch(/@tensorflow[/\\]tfjs-backend-wasm[/\\]dist[/\\]$/);
    expect(info.patchedKernels).toEqual(patchedKernels);
    const sum = tf.tensor1d([1, 2, 3]).sum();
    expect(await sum.data()).toEqual(new Float32Array([6]));
    sum.dispose();
  });
});

describe('registration on import', () => {
  it('registers every patched kernel for wasm, missing gradient kernels included', () => {
    for (const name of [
      'Conv2DBackpropFilter',
      'DepthwiseConv2dNativeBackpropFilter',
      'DepthwiseConv2dNativeBackpropInput',
      'UnsortedSegmentSum',
      'BatchMatMul',
    ]) {
      expect(patchedKernels).toContain(name);
      expect(tf.getKernel(name, 'wasm')).toBeDefined();
    }
  });

  it('describe() names each kernel, why, and the tfjs versions', () => {
    const text = describePatches();
    for (const name of patchedKernels) expect(text).toContain(`- ${name} (`);
    expect(text).toContain(`tfjs-core ${tf.version_core}`);
    expect(text).toContain(`tested: ${TESTED_TFJS}`);
    expect(text).toMatch(/missing/);
  });
});

describe('version check', () => {
  it('accepts 4.22.x', () => {
    expect(() => assertTestedVersions({ core: '4.22.0', wasm: '4.22.3' })).not.toThrow();
  });

  it('refuses an untested tfjs with a coded error naming found and tested versions and the fix', () => {
    let caught: unknown;
    try {
      assertTestedVersions({ core: '4.23.0', wasm: '4.22.0' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(Error);
    const error = caught as Error & { code: string };
    expect(error.name).toBe('TensorloopError');
    expect(error.code).toBe('TL_BACKEND_UNAVAILABLE');
    expect(error.message).toContain('@tensorflow/tfjs-core 4.23.0');
    expect(error.message).not.toContain('tfjs-backend-wasm 4.22.0');
    expect(error.message).toContain('tested with tfjs 4.22.x');
    expect(error.message).toContain('@tensorflow/tfjs@~4.22.0');
  });

  it('refuses a mismatched tfjs-backend-wasm too', () => {
    expect(() => assertTestedVersions({ core: '4.22.0', wasm: '4.21.0' })).toThrow(
      /@tensorflow\/tfjs-backend-wasm 4\.21\.0/,
    );
  });
});
