import { TensorloopError } from './errors.js';

/** The tfjs release line these kernels were written and tested against. */
export const TESTED_TFJS = '4.22.x';

export interface FoundVersions {
  /** `version_core` of the loaded @tensorflow/tfjs-core. */
  core: string;
  /** `version_wasm` of the loaded @tensorflow/tfjs-backend-wasm. */
  wasm: string;
}

function isTested(version: string): boolean {
  return /^4\.22\.\d+/.test(version);
}

/**
 * The patches replace kernels by name and read tfjs-backend-wasm internals (its data map, kernel
 * attributes), which change between minor releases; a silent mismatch would give wrong gradients,
 * so an untested version is refused up front.
 */
export function assertTestedVersions(found: FoundVersions): void {
  const wrong = (Object.entries(found) as [keyof FoundVersions, string][]).filter(([, v]) => !isTested(v));
  if (wrong.length === 0) return;
  const names = { core: '@tensorflow/tfjs-core', wasm: '@tensorflow/tfjs-backend-wasm' } as const;
  const list = wrong.map(([k, v]) => `${names[k]} ${v}`).join(' and ');
  throw new TensorloopError(
    'TL_BACKEND_UNAVAILABLE',
    `@tensorloop/backend-wasm was tested with tfjs ${TESTED_TFJS} but found ${list}. ` +
      'Install @tensorflow/tfjs@~4.22.0 and @tensorflow/tfjs-backend-wasm@~4.22.0 (one copy of each: ' +
      'check `npm ls @tensorflow/tfjs-core`), or upgrade @tensorloop/backend-wasm to a release tested ' +
      'with your tfjs.',
  );
}
