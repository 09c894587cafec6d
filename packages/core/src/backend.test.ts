import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, test } from 'vitest';
import { initBackend } from './backend.js';
import { TensorloopError } from './errors.js';

const missing = (spec: string) =>
  Object.assign(new Error(`Cannot find package '${spec}'`), { code: 'ERR_MODULE_NOT_FOUND' });

/** A stand-in for @tensorflow/tfjs-node: registers a backend named "tensorflow" (the cpu kernels underneath). */
function stubTfjsNode(installed: string[]) {
  const loaded: string[] = [];
  return {
    loaded,
    importModule: async (spec: string) => {
      if (!installed.includes(spec)) throw missing(spec);
      loaded.push(spec);
      if (spec.startsWith('@tensorflow/tfjs-node') && !tf.findBackend('tensorflow')) {
        tf.registerBackend('tensorflow', tf.findBackendFactory('cpu')!, 1);
      }
      if (spec === '@tensorloop/backend-wasm') {
        // Stands in for the real package: a backend named "wasm" (cpu kernels underneath).
        return {
          initWasmBackend: async () => {
            if (!tf.findBackend('wasm')) tf.registerBackend('wasm', tf.findBackendFactory('cpu')!, 0);
            await tf.setBackend('wasm');
          },
        };
      }
      return {};
    },
  };
}

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('initBackend', () => {
  test("'tensorflow' loads tfjs-node-gpu first, then tfjs-node, and says which runs", async () => {
    const gpu = stubTfjsNode(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
    const info = await initBackend('tensorflow', { importModule: gpu.importModule, quiet: true });
    expect(gpu.loaded).toEqual(['@tensorflow/tfjs-node-gpu']);
    expect(info).toMatchObject({ backend: 'tensorflow', provider: '@tensorflow/tfjs-node-gpu' });
    expect(tf.getBackend()).toBe('tensorflow');

    const cpuOnly = stubTfjsNode(['@tensorflow/tfjs-node']);
    const info2 = await initBackend('tensorflow', { importModule: cpuOnly.importModule, quiet: true });
    expect(info2.provider).toBe('@tensorflow/tfjs-node');
    expect(info2.message).toContain('training on the "tensorflow" backend (@tensorflow/tfjs-node');
  });

  test("'tensorflow' without either package is a coded error with the fix", async () => {
    const none = stubTfjsNode([]);
    const e = await initBackend('tensorflow', { importModule: none.importModule, quiet: true }).catch(
      (x: unknown) => x,
    );
    expect((e as TensorloopError).code).toBe('TL_BACKEND_UNAVAILABLE');
    expect((e as TensorloopError).message).toContain('npm i @tensorflow/tfjs-node');
  });

  test("'auto' prefers tfjs-node, then @tensorloop/backend-wasm, then cpu", async () => {
    const withWasm = stubTfjsNode(['@tensorloop/backend-wasm']);
    const a = await initBackend('auto', { importModule: withWasm.importModule, quiet: true });
    expect(a).toMatchObject({ backend: 'wasm', provider: '@tensorloop/backend-wasm' });
    const nothing = stubTfjsNode([]);
    const b = await initBackend('auto', { importModule: nothing.importModule, quiet: true });
    expect(b).toMatchObject({ backend: 'cpu', provider: '@tensorflow/tfjs' });
    expect(b.message).toContain('install @tensorloop/backend-wasm');
    const node = stubTfjsNode(['@tensorflow/tfjs-node', '@tensorloop/backend-wasm']);
    expect((await initBackend('auto', { importModule: node.importModule, quiet: true })).backend).toBe(
      'tensorflow',
    );
  });

  test("'wasm' without @tensorloop/backend-wasm, a broken install and an unknown name are coded errors", async () => {
    const e = await initBackend('wasm', { importModule: stubTfjsNode([]).importModule, quiet: true }).catch(
      (x: unknown) => x,
    );
    expect((e as TensorloopError).code).toBe('TL_BACKEND_UNAVAILABLE');
    expect((e as TensorloopError).message).toContain('npm i @tensorloop/backend-wasm');
    const broken = async () => {
      throw new Error('libtensorflow.so: cannot open shared object file');
    };
    const b = await initBackend('tensorflow', { importModule: broken, quiet: true }).catch((x: unknown) => x);
    expect((b as TensorloopError).message).toContain('installed but failed to load: libtensorflow.so');
    const u = await initBackend('gpu' as never, { quiet: true }).catch((x: unknown) => x);
    expect(u).toBeInstanceOf(TensorloopError);
  });

  test("'cpu' always works", async () => {
    const info = await initBackend('cpu', { quiet: true });
    expect(info.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });
});
