import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { compiledKernels, pointerOf } from './compiled.js';
import { sizeOf, type WasmBackend } from './kernel-utils.js';

/**
 * Fused optimizer updates for @tensorloop/core's `adam`/`adamw` and `sgd`: one kernel call
 * updates every weight of an `applyGradients` call (one compiled SIMD pass per weight) instead of
 * ~7–10 elementwise kernels per weight. Core looks the kernels up by name and falls back to its
 * op-by-op update when they are not registered (other backends, or this package absent), so the
 * names and the input/attribute layout below are a contract with core's `optim/fused.ts`:
 *
 * - inputs `param<i>`, `grad<i>` for weight i, and its slots when they exist (`m<i>`, `v<i>` for
 *   Adam; `buffer<i>` for SGD with momentum);
 * - attrs: `count`, and one number per weight in arrays (see each kernel);
 * - outputs, flat: Adam `[param'₀, m'₀, v'₀, param'₁, …]`; SGD `param'ᵢ`, followed by `buffer'ᵢ`
 *   for each weight with momentum ≠ 0.
 * The arithmetic repeats core's unfused update operation by operation in float32.
 */
export const FUSED_ADAM = 'TensorloopFusedAdam';
export const FUSED_SGD = 'TensorloopFusedSgd';

type Inputs = Record<string, TensorInfo | undefined>;

function numbers(attrs: NamedAttrMap, key: string, count: number): number[] {
  const value = attrs[key];
  if (!Array.isArray(value) || value.length !== count) {
    throw new Error(`@tensorloop/backend-wasm: fused update attribute '${key}' must have ${count} numbers.`);
  }
  return value as number[];
}

function required(inputs: Inputs, name: string): TensorInfo {
  const info = inputs[name];
  if (info === undefined || info.dtype !== 'float32') {
    throw new Error(`@tensorloop/backend-wasm: fused update input '${name}' is missing or not float32.`);
  }
  return info;
}

const fusedAdam: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const wasm = backend as WasmBackend;
  const named = inputs as Inputs;
  const count = attrs.count as number;
  const hasM = numbers(attrs, 'hasM', count);
  const beta1 = numbers(attrs, 'beta1', count);
  const beta2 = numbers(attrs, 'beta2', count);
  const coupledDecay = numbers(attrs, 'coupledDecay', count);
  const decayFactor = numbers(attrs, 'decayFactor', count);
  const invSqrtBc2 = numbers(attrs, 'invSqrtBc2', count);
  const eps = numbers(attrs, 'eps', count);
  const stepSize = numbers(attrs, 'stepSize', count);
  const kernels = compiledKernels(wasm);
  const outputs: TensorInfo[] = [];
  for (let i = 0; i < count; i++) {
    const param = required(named, `param${i}`);
    const grad = required(named, `grad${i}`);
    const first = hasM[i] === 0;
    const m = first ? undefined : required(named, `m${i}`);
    const v = first ? undefined : required(named, `v${i}`);
    const newParam = wasm.makeOutput(param.shape, 'float32');
    const newM = wasm.makeOutput(param.shape, 'float32');
    const newV = wasm.makeOutput(param.shape, 'float32');
    outputs.push(newParam, newM, newV);
    const size = sizeOf(param.shape);
    if (size === 0) continue;
    kernels.adamUpdate(
      pointerOf(wasm, param),
      pointerOf(wasm, grad),
      m === undefined ? 0 : pointerOf(wasm, m),
      v === undefined ? 0 : pointerOf(wasm, v),
      pointerOf(wasm, newParam),
      pointerOf(wasm, newM),
      pointerOf(wasm, newV),
      size,
      first ? 0 : 1,
      beta1[i]!,
      1 - beta1[i]!,
      beta2[i]!,
      1 - beta2[i]!,
      coupledDecay[i]!,
      decayFactor[i]!,
      invSqrtBc2[i]!,
      eps[i]!,
      stepSize[i]!,
    );
  }
  return outputs;
};

const fusedSgd: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const wasm = backend as WasmBackend;
  const named = inputs as Inputs;
  const count = attrs.count as number;
  const lr = numbers(attrs, 'lr', count);
  const momentum = numbers(attrs, 'momentum', count);
  const dampening = numbers(attrs, 'dampening', count);
  const weightDecay = numbers(attrs, 'weightDecay', count);
  const nesterov = numbers(attrs, 'nesterov', count);
  const hasBuffer = numbers(attrs, 'hasBuffer', count);
  const kernels = compiledKernels(wasm);
  const outputs: TensorInfo[] = [];
  for (let i = 0; i < count; i++) {
    const param = required(named, `param${i}`);
    const grad = required(named, `grad${i}`);
    const withMomentum = momentum[i] !== 0;
    const buffer = withMomentum && hasBuffer[i] !== 0 ? required(named, `buffer${i}`) : undefined;
    const newParam = wasm.makeOutput(param.shape, 'float32');
    outputs.push(newParam);
    const newBuffer = withMomentum ? wasm.makeOutput(param.shape, 'float32') : undefined;
    if (newBuffer !== undefined) outputs.push(newBuffer);
    const size = sizeOf(param.shape);
    if (size === 0) continue;
    kernels.sgdUpdate(
      pointerOf(wasm, param),
      pointerOf(wasm, grad),
      buffer === undefined ? 0 : pointerOf(wasm, buffer),
      pointerOf(wasm, newParam),
      newBuffer === undefined ? 0 : pointerOf(wasm, newBuffer),
      size,
      buffer === undefined ? 0 : 1,
      lr[i]!,
      momentum[i]!,
      1 - dampening[i]!,
      weightDecay[i]!,
      nesterov[i]!,
    );
  }
  return outputs;
};

export const fusedAdamConfig = (): KernelConfig => ({
  kernelName: FUSED_ADAM,
  backendName: 'wasm',
  kernelFunc: fusedAdam,
});

export const fusedSgdConfig = (): KernelConfig => ({
  kernelName: FUSED_SGD,
  backendName: 'wasm',
  kernelFunc: fusedSgd,
});
