import { version_core } from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { KERNEL_PATCHES } from './kernels.js';
import { TESTED_TFJS } from './version-check.js';

/** A human-readable account of what this package changed in tfjs, and on which versions. */
export function describe(): string {
  const lines = [
    `@tensorloop/backend-wasm: training kernels for tfjs's 'wasm' backend`,
    `tfjs-core ${version_core}, tfjs-backend-wasm ${version_wasm} (tested: ${TESTED_TFJS})`,
    ...KERNEL_PATCHES.map((p) => `- ${p.kernelName} (${p.kind}): ${p.why}`),
  ];
  return lines.join('\n');
}
