import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { compiledKernels, pointerOf } from './compiled.js';
import { sizeOf, type WasmBackend } from './kernel-utils.js';

/**
 * One optimizer step of @tensorloop/core's non-finite watch (`onNonFinite`) in one kernel call: a
 * compiled probe per quantity, with no temporary, instead of ~30 small kernels (a product and a sum
 * per gradient, then the fold). Core looks the kernel up by name and otherwise computes the same
 * state with tf ops, so the names and layout below are a contract with core's `loop/non-finite.ts`:
 *
 * - input `state`, float32 `[4]`: `[firstStep, firstQuantity, counter, badCount]`, the watch's whole
 *   device record (`[-1, -1, 0, 0]` after a read-back);
 * - input `gate` (optional), float32 scalar: the plugins' step gate; when 0 the gradients do not count
 *   (the loss always does);
 * - inputs `q0` (the loss) … `q<count-1>` (the gradients), float32 of any shape; attr `count`;
 * - output: the new state. With bad_i = "q_i has a NaN or ±Inf" (and the gate ≠ 0, for i ≥ 1),
 *   anyBad = any bad_i and which = the first i with bad_i: when firstStep < 0 and anyBad, the first
 *   pair becomes `[counter, which]`; counter + 1; badCount + anyBad.
 */
export const NON_FINITE_FOLD = 'TensorloopNonFiniteFold';

type Inputs = Record<string, TensorInfo | undefined>;

function float32(inputs: Inputs, name: string): TensorInfo {
  const info = inputs[name];
  if (info === undefined || info.dtype !== 'float32') {
    throw new Error(
      `@tensorloop/backend-wasm: ${NON_FINITE_FOLD} input '${name}' is missing or not float32.`,
    );
  }
  return info;
}

const nonFiniteFold: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const wasm = backend as WasmBackend;
  const named = inputs as Inputs;
  const count = attrs.count as number;
  const state = float32(named, 'state');
  if (sizeOf(state.shape) !== 4) {
    throw new Error(`@tensorloop/backend-wasm: ${NON_FINITE_FOLD} state must have 4 values.`);
  }
  const gate = named.gate === undefined ? 1 : wasm.typedArrayFromHeap(float32(named, 'gate'))[0]!;
  const kernels = compiledKernels(wasm);
  let which = -1;
  for (let i = 0; i < count && which < 0; i++) {
    const q = float32(named, `q${i}`);
    if (i > 0 && gate === 0) break;
    const size = sizeOf(q.shape);
    if (size > 0 && kernels.nonFinite(pointerOf(wasm, q), size) !== 0) which = i;
  }
  const out = wasm.makeOutput([4], 'float32');
  // Views after the allocation: growing the heap detaches older views.
  const [firstStep, firstQuantity, counter, badCount] = wasm.typedArrayFromHeap(state) as Float32Array;
  const anyBad = which >= 0;
  const take = firstStep! < 0 && anyBad;
  wasm
    .typedArrayFromHeap(out)
    .set([
      take ? counter! : firstStep!,
      take ? which : firstQuantity!,
      counter! + 1,
      badCount! + (anyBad ? 1 : 0),
    ]);
  return out;
};

export const nonFiniteFoldConfig: KernelConfig = {
  kernelName: NON_FINITE_FOLD,
  backendName: 'wasm',
  kernelFunc: nonFiniteFold,
};
