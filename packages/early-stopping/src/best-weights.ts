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

/** How checkpoints of version 0.1 carried the best weights (inside the JSON state); still read. */
export interface SerializedBestWeights {
  readonly epoch: number;
  readonly bytes: number;
  readonly weights: readonly SerializedWeight[];
}

/**
 * The weights of the best epoch, cloned on the device and keyed by the weights' `originalName`.
 * The owner of an instance disposes it; the tensors are never handed out.
 */
export class BestWeights {
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

  /** Rebuilds the snapshot from the tensors a checkpoint hands back (cloned: the caller keeps its own). */
  static fromTensors(epoch: number, saved: Readonly<tf.NamedTensorMap>): BestWeights {
    const tensors = new Map<string, tf.Tensor>();
    for (const [name, t] of Object.entries(saved)) tensors.set(name, tf.clone(t));
    return new BestWeights(epoch, tensors);
  }

  /** Rebuilds the snapshot from a 0.1 checkpoint's plugin state (base64 weights in the JSON). */
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
    return new BestWeights(saved.epoch, tensors);
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

  /** The weights by name, for the checkpoint's binary file (still owned by this snapshot). */
  tensorMap(): tf.NamedTensorMap {
    return Object.fromEntries(this.tensors);
  }

  dispose(): void {
    tf.dispose([...this.tensors.values()]);
    this.tensors.clear();
  }
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
