import { getKernel, type KernelConfig, registerKernel, unregisterKernel } from '@tensorflow/tfjs';
import { addConfig } from './add-rows.js';
import { avgPoolGradConfig } from './avg-pool-grad.js';
import { batchMatMulConfig, fusedMatMulConfig } from './batch-matmul.js';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.js';
import { concatConfig, gatherV2Config, sliceConfig } from './data-movement.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwise-conv2d-backprop-filter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwise-conv2d-backprop-input.js';
import { FUSED_ADAM, FUSED_SGD, fusedAdamConfig, fusedSgdConfig } from './fused-optimizers.js';
import { castConfig, identityConfig } from './identity.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { NON_FINITE_FOLD, nonFiniteFoldConfig } from './non-finite-fold.js';
import { RELU_GRAD, registerReluGradient, reluGradConfig } from './relu-gradient.js';
import { sumConfig } from './sum.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

export interface KernelPatch {
  kernelName: string;
  kind: 'added' | 'replaced';
  why: string;
  config: () => KernelConfig;
}

export const KERNEL_PATCHES: readonly KernelPatch[] = [
  {
    kernelName: 'BatchMatMul',
    kind: 'replaced',
    why:
      'transposed or batched operands (every dense backward pass) fell into a scalar loop 10-20x ' +
      'slower than XNNPACK; now transposed explicitly and run by XNNPACK, batched x shared operands ' +
      'folded into one product, large batched products run per entry',
    config: batchMatMulConfig,
  },
  {
    kernelName: '_FusedMatMul',
    kind: 'replaced',
    why:
      'same slow path as BatchMatMul, where it also added a rank-1 bias at the wrong index; ' +
      'same fix, so the bias is always applied by XNNPACK',
    config: fusedMatMulConfig,
  },
  {
    kernelName: 'Conv2DBackpropFilter',
    kind: 'added',
    why:
      'missing (conv1d/conv2d/separableConv2d could not train); image patches (a compiled im2col) ' +
      'times dy (one XNNPACK matMul)',
    config: () => conv2dBackpropFilterConfig,
  },
  {
    kernelName: 'Conv2DBackpropInput',
    kind: 'replaced',
    why: 'the original is a scalar loop; now an XNNPACK conv of the stride-spread dy with the flipped filter',
    config: () => conv2dBackpropInputConfig,
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    kind: 'added',
    why: 'missing (depthwiseConv2d/separableConv2d could not train); per-channel patches x dy',
    config: () => depthwiseConv2dNativeBackpropFilterConfig,
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    kind: 'added',
    why: 'missing; XNNPACK depthwise conv of the stride-spread dy with the flipped filter',
    config: () => depthwiseConv2dNativeBackpropInputConfig,
  },
  {
    kernelName: 'MaxPoolGrad',
    kind: 'replaced',
    why:
      'the original starts each window at the smallest positive float, so windows of values <= 0 ' +
      'send their gradient to the wrong pixel; now the first maximum, as on cpu, in one compiled SIMD pass',
    config: () => maxPoolGradConfig,
  },
  {
    kernelName: 'AvgPoolGrad',
    kind: 'replaced',
    why: 'a scalar per-element loop; now one compiled SIMD scatter over the wasm heap',
    config: () => avgPoolGradConfig,
  },
  {
    kernelName: 'GatherV2',
    kind: 'replaced',
    why:
      'copied element by element (3.6 ms for 128 MNIST rows, a quarter of an MLP step); now one ' +
      'contiguous copy per gathered row inside the wasm heap',
    config: gatherV2Config,
  },
  {
    kernelName: 'Slice',
    kind: 'replaced',
    why:
      'read the whole source out of the wasm heap on every call (cutting a batch cost O(dataset)); ' +
      'now copies only the box, in contiguous runs inside the heap',
    config: sliceConfig,
  },
  {
    kernelName: 'Concat',
    kind: 'replaced',
    why: 'one typed-array call per run, even for one-element runs; now short runs are copied in a loop',
    config: concatConfig,
  },
  {
    kernelName: 'Identity',
    kind: 'replaced',
    why:
      "copied its input; tfjs's engine clones every tensor it saves for the backward pass through it, " +
      'so each step copied every saved activation; now shares the data, as on cpu',
    config: identityConfig,
  },
  {
    kernelName: 'Cast',
    kind: 'replaced',
    why: 'a cast to the same dtype (every relu gradient) copied; now shares the data, as on cpu',
    config: castConfig,
  },
  {
    kernelName: 'Sum',
    kind: 'replaced',
    why:
      'a sum over leading axes (every bias gradient) first transposed the whole input; now one compiled ' +
      'column-sum pass (other reductions: tfjs kernel)',
    config: sumConfig,
  },
  {
    kernelName: 'Add',
    kind: 'replaced',
    why:
      'a bias added to every row (dense and conv layers in training) went through a generic ' +
      'broadcasting loop; now one compiled pass per row (other adds: tfjs kernel)',
    config: addConfig,
  },
  {
    kernelName: RELU_GRAD,
    kind: 'added',
    why:
      "the relu gradient dy*step(x) in one compiled pass instead of Step then Multiply; tfjs-core's " +
      'Relu gradient is re-registered to call it on wasm (its own gradient elsewhere)',
    config: () => reluGradConfig,
  },
  {
    kernelName: FUSED_ADAM,
    kind: 'added',
    why:
      "@tensorloop/core's adam/adamw update of every weight in one call (compiled SIMD) instead of " +
      '~10 elementwise kernels per weight; core uses it when registered',
    config: fusedAdamConfig,
  },
  {
    kernelName: FUSED_SGD,
    kind: 'added',
    why: "@tensorloop/core's sgd update (momentum, nesterov, weight decay) of every weight in one call",
    config: fusedSgdConfig,
  },
  {
    kernelName: NON_FINITE_FOLD,
    kind: 'added',
    why:
      "@tensorloop/core's onNonFinite watch of a step (loss and every gradient) in one call, a compiled " +
      'SIMD probe per quantity, instead of ~30 small kernels and a temporary per gradient; core uses it when registered',
    config: () => nonFiniteFoldConfig,
  },
  {
    kernelName: 'UnsortedSegmentSum',
    kind: 'added',
    why: 'missing (gather/embedding gradients); a scatter-add through the wasm ScatterNd kernel',
    config: () => unsortedSegmentSumConfig,
  },
];

const REGISTERED = Symbol.for('@tensorloop/backend-wasm/registered');

/**
 * Registers the training kernels for 'wasm' once per tfjs-core instance (a second copy of this
 * package would otherwise wrap the already-patched matMul again).
 */
export function registerTrainingKernels(): void {
  const registry = globalThis as { [REGISTERED]?: true };
  if (registry[REGISTERED]) return;
  const configs = KERNEL_PATCHES.map((patch) => patch.config());
  for (const config of configs) {
    if (getKernel(config.kernelName, 'wasm') !== undefined) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  }
  registerReluGradient();
  registry[REGISTERED] = true;
}
