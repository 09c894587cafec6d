import * as tf from '@tensorflow/tfjs';
import { fail } from './errors.js';

/**
 * The weights of the best epoch so far (every weight of the model, BatchNorm statistics included),
 * cloned on the device and keyed by `originalName`. Its owner disposes it.
 */
export class BestWeights {
  private constructor(
    readonly epoch: number,
    private readonly tensors: Map<string, tf.Tensor>,
  ) {}

  static capture(model: tf.LayersModel, epoch: number): BestWeights {
    return new BestWeights(epoch, new Map(model.weights.map((w) => [w.originalName, tf.clone(w.read())])));
  }

  /** From the tensors a checkpoint hands back (cloned: core disposes its own). */
  static fromTensors(epoch: number, saved: Readonly<tf.NamedTensorMap>): BestWeights {
    return new BestWeights(epoch, new Map(Object.entries(saved).map(([n, t]) => [n, tf.clone(t)])));
  }

  /** Writes the snapshot into the model's variables; refuses a model it does not fit. */
  restoreInto(model: tf.LayersModel): void {
    const misfit = model.weights.filter((w) => {
      const t = this.tensors.get(w.originalName);
      return t === undefined || !tf.util.arraysEqual(t.shape, w.shape as number[]);
    });
    if (misfit.length > 0) {
      fail(
        'TL_CHECKPOINT_INVALID',
        `the best weights do not fit this model (${misfit.map((w) => w.originalName).join(', ')} missing or of another shape). Name your layers so weight names match the run that saved them.`,
      );
    }
    for (const w of model.weights) w.write(this.tensors.get(w.originalName)!);
  }

  /** The tensors by weight name (still owned by this snapshot). */
  tensorMap(): tf.NamedTensorMap {
    return Object.fromEntries(this.tensors);
  }

  dispose(): void {
    tf.dispose([...this.tensors.values()]);
    this.tensors.clear();
  }
}
