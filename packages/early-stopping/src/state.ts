import { TensorloopError } from '@tensorloop/core';
import type { SerializedBestWeights, SerializedWeight } from './best-weights.js';
import type { EarlyStoppingState } from './early-stopping.js';
import { PLUGIN_NAME } from './options.js';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumberOrNull = (v: unknown): v is number | null => v === null || typeof v === 'number';
const isIntOrNull = (v: unknown): v is number | null => v === null || Number.isInteger(v);

function isWeight(v: unknown): v is SerializedWeight {
  return (
    isRecord(v) &&
    typeof v.name === 'string' &&
    (v.dtype === 'float32' || v.dtype === 'int32' || v.dtype === 'bool') &&
    Array.isArray(v.shape) &&
    v.shape.every((d) => Number.isInteger(d) && (d as number) >= 0) &&
    typeof v.data === 'string'
  );
}

function isBestWeights(v: unknown): v is SerializedBestWeights {
  return (
    isRecord(v) &&
    Number.isInteger(v.epoch) &&
    typeof v.bytes === 'number' &&
    Array.isArray(v.weights) &&
    v.weights.every(isWeight)
  );
}

/** Checks a checkpoint's plugin state (it comes from a file: untrusted). */
export function parseState(saved: unknown): EarlyStoppingState {
  const valid =
    isRecord(saved) &&
    typeof saved.monitor === 'string' &&
    (saved.mode === 'min' || saved.mode === 'max') &&
    isNumberOrNull(saved.best) &&
    isIntOrNull(saved.bestEpoch) &&
    Number.isInteger(saved.wait) &&
    (saved.wait as number) >= 0 &&
    isIntOrNull(saved.origin) &&
    isIntOrNull(saved.stoppedEpoch) &&
    (saved.bestWeights === null || isBestWeights(saved.bestWeights)) &&
    isNumberOrNull(saved.omittedBytes);
  if (!valid) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `[${PLUGIN_NAME}] the checkpoint's early-stopping state is malformed: expected { monitor, mode, best, bestEpoch, wait, origin, stoppedEpoch, bestWeights, omittedBytes } as written by this package. Resume from a checkpoint written by @tensorloop/early-stopping.`,
      { plugin: PLUGIN_NAME },
    );
  }
  return saved as unknown as EarlyStoppingState;
}
