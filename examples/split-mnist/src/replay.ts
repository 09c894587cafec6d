// A rehearsal plugin (experience replay), written as any user would: a replay buffer of samples from
// the stages already trained, mixed into every training batch of the later stages. It relies only on
// @tensorloop/core's plugin API and the meta-trainer's events (Avalanche's ReplayPlugin does the same
// with `after_training_exp` and its dataloader).
import * as tf from '@tensorflow/tfjs';
import { type Batch, type DataInput, definePlugin, type Plugin, readState } from '@tensorloop/core';
import type {} from '@tensorloop/meta-trainer'; // its meta:* events on core's HookEvents

export const REPLAY = '@tensorloop/example-split-mnist:replay';

export interface ReplayOptions {
  /** Samples kept from each stage's training data, drawn at random when the stage ends. */
  readonly perStage: number;
  /** Buffer samples appended to every training batch. */
  readonly batch: number;
  readonly seed?: number;
}

/** A 32-bit LCG: deterministic draws from plain JS inside the (synchronous) batch transform. */
const nextRandom = (state: number): [number, number] => {
  const next = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return [next, next / 2 ** 32];
};

export function replay(options: ReplayOptions): Plugin<typeof REPLAY> {
  let rng = (options.seed ?? 1) >>> 0;
  let buffer: { x: tf.Tensor2D; y: tf.Tensor2D } | undefined;
  let stageData: DataInput | undefined;
  const random = (): number => {
    const [state, value] = nextRandom(rng);
    rng = state;
    return value;
  };
  const setBuffer = (next: typeof buffer) => {
    if (buffer) tf.dispose([buffer.x, buffer.y]);
    buffer = next;
  };

  return definePlugin({
    name: REPLAY,
    'meta:stageStart': (_ctx, e) => {
      stageData = e.data;
    },
    // Once a stage is over, keep `perStage` of its samples (its own batches are not replayed in it).
    'meta:stageEnd': () => {
      const data = stageData as { x?: unknown; y?: unknown } | undefined;
      if (!(data?.x instanceof tf.Tensor) || !(data.y instanceof tf.Tensor)) return;
      const n = data.x.shape[0]!;
      const order = Array.from({ length: n }, (_v, i) => i);
      for (let i = 0; i < Math.min(options.perStage, n); i++) {
        const j = i + Math.floor(random() * (n - i));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const picked = order.slice(0, Math.min(options.perStage, n));
      const x = data.x as tf.Tensor2D;
      const y = data.y as tf.Tensor2D;
      setBuffer(
        tf.tidy(() => {
          const idx = tf.tensor1d(picked, 'int32');
          const px = tf.gather(x, idx) as tf.Tensor2D;
          const py = tf.gather(y, idx) as tf.Tensor2D;
          return buffer
            ? { x: tf.concat([buffer.x, px]) as tf.Tensor2D, y: tf.concat([buffer.y, py]) as tf.Tensor2D }
            : { x: px, y: py };
        }),
      );
    },
    // Inside the step's tidy: the sampled rows and the concatenation are disposed with the step.
    transformBatch: (_ctx, batch): Batch => {
      if (!buffer || Array.isArray(batch.x)) return batch;
      const size = buffer.x.shape[0]!;
      const idx = tf.tensor1d(
        Array.from({ length: options.batch }, () => Math.floor(random() * size)),
        'int32',
      );
      return {
        x: tf.concat([batch.x, tf.gather(buffer.x, idx)]),
        y: tf.concat([batch.y, tf.gather(buffer.y, idx)]),
      };
    },
    // A well-behaved plugin: its RNG and buffer survive checkpoints (the buffer as state tensors).
    state: () => ({ rng, size: buffer?.x.shape[0] ?? 0 }),
    stateTensors: (): tf.NamedTensorMap => (buffer ? { x: buffer.x, y: buffer.y } : {}),
    parseState: (saved) => {
      const s = readState(saved, REPLAY);
      return { rng: s.integer('rng', { min: 0 }), size: s.integer('size', { min: 0 }) };
    },
    loadState: (state, _version, tensors) => {
      rng = state.rng;
      setBuffer(
        state.size > 0 && tensors.x && tensors.y
          ? { x: tf.clone(tensors.x) as tf.Tensor2D, y: tf.clone(tensors.y) as tf.Tensor2D }
          : undefined,
      );
    },
  });
}

declare module '@tensorloop/core' {
  interface PluginStateMap {
    '@tensorloop/example-split-mnist:replay': { readonly rng: number; readonly size: number };
  }
}
