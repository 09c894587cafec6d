import { readState, type StateReader } from '@tensorloop/core';
import type { SerializedWeight } from './best-weights.js';

/** The plugin's checkpointed state (a JSON document inside the trainer checkpoint). */
export interface EarlyStoppingState {
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  /** Best monitored value of this stage; null before the first one. */
  readonly best: number | null;
  /** Global epoch of the best value. */
  readonly bestEpoch: number | null;
  /** Epochs since the last improvement (Keras counting). */
  readonly wait: number;
  /** Global epoch this stage started watching from (counts `startFromEpoch`). */
  readonly origin: number | null;
  readonly stoppedEpoch: number | null;
  /**
   * With `restoreBestWeights`: which epoch's weights the checkpoint holds (the tensors themselves
   * are in the checkpoint's binary file, by weight name), or null when there are none yet or they
   * were larger than `maxStateBytes` (then `omittedBytes` says how large). Checkpoints of version
   * 0.1 held them here as base64 (`weights`); those are still read.
   */
  readonly bestWeights: {
    readonly epoch: number;
    readonly bytes: number;
    readonly weights?: readonly SerializedWeight[];
  } | null;
  readonly omittedBytes: number | null;
}

const DTYPES = ['float32', 'int32', 'bool'] as const;

function legacyWeight(w: StateReader): SerializedWeight {
  return {
    name: w.string('name'),
    dtype: w.oneOf('dtype', DTYPES),
    shape: w.numbers('shape'),
    data: w.string('data'),
  };
}

/** Checks a checkpoint's plugin state (it comes from a file: untrusted). */
export function parseState(saved: unknown, plugin: string): EarlyStoppingState {
  const s = readState(saved, plugin);
  return {
    monitor: s.string('monitor'),
    mode: s.oneOf('mode', ['min', 'max']),
    best: s.number('best', { nullable: true }),
    bestEpoch: s.integer('bestEpoch', { nullable: true }),
    wait: s.integer('wait', { min: 0 }),
    origin: s.integer('origin', { nullable: true }),
    stoppedEpoch: s.integer('stoppedEpoch', { nullable: true }),
    bestWeights: s.object(
      'bestWeights',
      (b) => ({
        epoch: b.integer('epoch', { min: 0 }),
        bytes: b.number('bytes', { min: 0 }),
        ...(b.has('weights') ? { weights: b.objects('weights', legacyWeight) } : {}),
      }),
      { nullable: true },
    ),
    omittedBytes: s.number('omittedBytes', { nullable: true }),
  };
}
