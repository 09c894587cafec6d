import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from '@tensorloop/core';
import { PLUGIN_NAME } from './options.js';

/** One weight in a checkpoint's plugin state: raw little-endian bytes as base64. */
export interface SerializedWeight {
  readonly name: string;
  readonly dtype: 'float32' | 'int32' | 'bool';
  readonly shape: number[];
  readonly data: string;
}

/** The best epoch's weights as they travel inside a checkpoint. */
export interface SerializedBestWeights {
  readonly epoch: number;
  readonly bytes: number;
  readonly weights: SerializedWeight[];
}

/**
 * The weights of the best epoch, cloned on the device and keyed by the weights' `originalName`.
 * The owner of an instance disposes it; the tensors are never handed out.
 */
export class BestWeights {
  private serialized: SerializedBestWeights | undefined;

  private constructor(
    readonly epoch: number,
    private readonly tensors: Map<string, tf.Tensor>,
  ) {}

  /** Device-side clones of every weight of the model (trainable or not: BatchNorm statistics too). */
  static capture(model: tf.LayersModel, epoch: number): BestWeights {
    const tensors = new Map<string, tf.Tensor>();
    for (const w of model.weights) tensors.set(w.originalName, tf.clone(w.read()));
    return new BestWeights(epoch, tensors);
  }

  /** Rebuilds the snapshot from a checkpoint's plugin state. */
  static deserialize(saved: SerializedBestWeights): BestWeights {
    const tensors = new Map<string, tf.Tensor>();
    try {
      for (const w of saved.weights) tensors.set(w.name, tf.tensor(decodeBytes(w), w.shape, w.dtype));
    } catch (cause) {
      tf.dispose([...tensors.values()]);
      throw new TensorloopError(
        'TL_CHECKPOINT_CORRUPT',
        `[${PLUGIN_NAME}] the best weights in the checkpoint could not be read back (${String(cause)}); resume from another checkpoint.`,
        { plugin: PLUGIN_NAME, cause },
      );
    }
    const restored = new BestWeights(saved.epoch, tensors);
    restored.serialized = saved;
    return restored;
  }

  /** Raw size of the weights in bytes. */
  get bytes(): number {
    let total = 0;
    for (const t of this.tensors.values()) total += t.size * (t.dtype === 'bool' ? 1 : 4);
    return total;
  }

  /** Writes the snapshot into the model's variables. Throws when the model does not match it. */
  restoreInto(model: tf.LayersModel): void {
    const missing = model.weights.filter((w) => {
      const saved = this.tensors.get(w.originalName);
      return saved === undefined || !tf.util.arraysEqual(saved.shape, w.shape as number[]);
    });
    if (missing.length > 0) {
      throw new TensorloopError(
        'TL_CHECKPOINT_INVALID',
        `[${PLUGIN_NAME}] the best weights do not fit this model (${missing.map((w) => w.originalName).join(', ')} missing or of another shape); name your layers so weight names match the run that saved them.`,
        { plugin: PLUGIN_NAME },
      );
    }
    // `write` assigns: the variable shares the clone's data, which stays alive until both let go.
    for (const w of model.weights) w.write(this.tensors.get(w.originalName)!);
  }

  /** The snapshot as JSON (read back from the device once per snapshot, at the first save that needs it). */
  serialize(): SerializedBestWeights {
    this.serialized ??= {
      epoch: this.epoch,
      bytes: this.bytes,
      weights: [...this.tensors].map(([name, t]) => ({
        name,
        dtype: t.dtype as SerializedWeight['dtype'],
        shape: [...t.shape],
        data: encodeBytes(t.dataSync()),
      })),
    };
    return this.serialized;
  }

  dispose(): void {
    tf.dispose([...this.tensors.values()]);
    this.tensors.clear();
  }
}

const CHUNK = 0x8000;

function encodeBytes(values: tf.TypedArray | string[]): string {
  if (!ArrayBuffer.isView(values)) throw new TypeError('string weights cannot be stored');
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}

function decodeBytes(w: SerializedWeight): Float32Array | Int32Array | Uint8Array {
  const binary = atob(w.data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const size = w.shape.reduce((a, b) => a * b, 1);
  const width = w.dtype === 'bool' ? 1 : 4;
  if (bytes.length !== size * width) {
    throw new RangeError(`${w.name} holds ${bytes.length} bytes, expected ${size * width}`);
  }
  if (w.dtype === 'float32') return new Float32Array(bytes.buffer);
  if (w.dtype === 'int32') return new Int32Array(bytes.buffer);
  return bytes;
}
