import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from '../errors.js';
import { describeTime } from '../hooks.js';
import type { GradientMap, Logger, PluginReadback } from '../plugin.js';
import type { Time } from '../time.js';

/**
 * What a fit does when a step's loss or a gradient is NaN or infinite (`Trainer({ onNonFinite })`):
 * `'stop'` (default) ends the fit with a stop reason naming the step and the quantity, `'throw'`
 * ends it with `TL_NON_FINITE`, `'skip'` applies nothing for such a step (through the step gate)
 * and warns how many were skipped.
 */
export type NonFiniteOption = 'stop' | 'skip' | 'throw';

export function checkNonFiniteOption(value: unknown): NonFiniteOption {
  if (value === undefined) return 'stop';
  if (value === 'stop' || value === 'skip' || value === 'throw') return value;
  throw new TensorloopError(
    'TL_OPTION_INVALID',
    `onNonFinite must be 'stop', 'skip' or 'throw'; got ${JSON.stringify(value)}.`,
  );
}

/** The first step whose loss or gradient was not finite, as the host learnt it. */
export interface NonFiniteFinding {
  /** Training time as the step began (its `step` is the optimizer steps done before it). */
  readonly time: Time;
  /** `'loss'`, or the weight name of the first non-finite gradient. */
  readonly quantity: string;
  readonly message: string;
}

/** The host's record of one observed step, for the finding (indexed by the device's step counter). */
interface Observed {
  readonly time: Time;
  readonly names: readonly string[];
}

/**
 * Watches every optimizer step for non-finite values on the device, without a read of its own: each
 * step folds, on the device, "is anything not finite, and which quantity first" into a few kept
 * scalars; they ride on the loop's read-backs (epoch logs, batch logs with `logEvery` or a plugin
 * that needs them, a checkpoint), as a plugin's `readback` does. A gradient that a plugin's step
 * gate rejects (AMP's overflow skip) is that plugin's business and is not reported; a non-finite
 * loss always is (the raw loss, before loss scaling).
 */
export class NonFiniteWatch {
  /** [device step index of the first non-finite step, index of its quantity], or [-1, -1]. */
  private first: tf.Tensor1D | undefined;
  /** Steps observed since the last read-back, on the device. */
  private counter: tf.Scalar | undefined;
  /** How many of them were non-finite. */
  private badCount: tf.Scalar | undefined;
  private observed: Observed[] = [];
  private finding: NonFiniteFinding | undefined;

  constructor(
    readonly mode: NonFiniteOption,
    private readonly now: () => Time,
    private readonly logger: Logger,
  ) {}

  /** The first non-finite step of this fit learnt so far ('stop' and 'throw'). */
  get found(): NonFiniteFinding | undefined {
    return this.finding;
  }

  /** Steps are waiting to be read (a checkpoint must read them before it records the weights). */
  get pending(): boolean {
    return this.observed.length > 0;
  }

  /**
   * One optimizer step, inside the step's tidy, before the update. Returns the gate the update goes
   * through: with `'skip'`, `pluginGate` (if any) and "everything finite"; otherwise `pluginGate`.
   */
  observe(
    loss: tf.Scalar | undefined,
    grads: GradientMap,
    pluginGate: tf.Scalar | undefined,
  ): tf.Scalar | undefined {
    const names = ['loss', ...grads.keys()];
    const last = this.observed.at(-1)?.names;
    const same = last !== undefined && last.length === names.length && last.every((n, i) => n === names[i]);
    this.observed.push({ time: { ...this.now() }, names: same ? last : names });
    // x·0 is 0 for a finite x and NaN otherwise, so one sum per gradient says whether all of it is finite.
    const probes = [
      loss ? tf.mul(loss, 0) : tf.scalar(0),
      ...[...grads.values()].map((g) => tf.sum(tf.mul(g, 0))),
    ];
    let bad = tf.cast(tf.logicalNot(tf.isFinite(tf.stack(probes))), 'float32') as tf.Tensor1D;
    if (pluginGate !== undefined && names.length > 1) {
      const applied = tf.cast(pluginGate, 'float32');
      bad = tf.mul(
        bad,
        tf.concat([tf.ones([1]), tf.broadcastTo(applied, [names.length - 1])]),
      ) as tf.Tensor1D;
    }
    const anyBad = tf.max(bad) as tf.Scalar;
    this.fold(anyBad, tf.cast(tf.argMax(bad), 'float32') as tf.Scalar);
    if (this.mode !== 'skip') return pluginGate;
    const finite = tf.equal(anyBad, 0) as tf.Scalar;
    return pluginGate === undefined ? finite : (tf.logicalAnd(pluginGate, finite) as tf.Scalar);
  }

  private fold(anyBad: tf.Scalar, which: tf.Scalar): void {
    const counter = this.counter ?? tf.scalar(0);
    const first = this.first ?? tf.tensor1d([-1, -1]);
    const take = tf.logicalAnd(tf.less(tf.slice(first, 0, 1), 0), tf.greater(anyBad, 0));
    const next = tf.keep(
      tf.where(tf.broadcastTo(take, [2]), tf.stack([counter, which]), first) as tf.Tensor1D,
    );
    const nextCounter = tf.keep(tf.add(counter, 1) as tf.Scalar);
    const nextBad = tf.keep(tf.add(this.badCount ?? tf.scalar(0), anyBad) as tf.Scalar);
    this.dispose();
    this.first = next;
    this.counter = nextCounter;
    this.badCount = nextBad;
  }

  /** Rides on the loop's read-backs, as a plugin's `readback` does. */
  readonly readback: PluginReadback = {
    tensors: (): Readonly<Record<string, tf.Scalar>> => {
      if (!this.first) return {};
      return {
        step: tf.reshape(tf.slice(this.first, 0, 1), []) as tf.Scalar,
        quantity: tf.reshape(tf.slice(this.first, 1, 1), []) as tf.Scalar,
        bad: this.badCount!,
      };
    },
    received: (values) => {
      const observed = this.observed;
      this.observed = [];
      this.restart();
      const index = values.step;
      if (index === undefined || index < 0) return;
      const at = observed[index]!;
      const quantity = at.names[values.quantity ?? 0] ?? 'loss';
      if (this.mode === 'skip') {
        this.logger.warn(
          `skipped ${values.bad} optimizer step(s) whose loss or gradients were not finite since the last read-back; the first at ${describeTime(at.time)} (${describeQuantity(quantity)}). Lower the learning rate, clip gradients, or check the data.`,
        );
        return;
      }
      this.finding ??= {
        time: at.time,
        quantity,
        message: `${describeQuantity(quantity)} was NaN or infinite at ${describeTime(at.time)}`,
      };
    },
  };

  /** The coded error for `'throw'` (and for a save after a finding). */
  error(finding: NonFiniteFinding): TensorloopError {
    return new TensorloopError(
      'TL_NON_FINITE',
      `${finding.message}. Lower the learning rate, clip gradients (gradientClip), check the data, or pass Trainer({ onNonFinite: 'skip' }) to skip such steps.`,
      { time: { ...finding.time } },
    );
  }

  /** A new fit: nothing found yet. */
  reset(): void {
    this.observed = [];
    this.finding = undefined;
    this.dispose();
  }

  /** Zero the device record after a read, keeping as many tensors alive (leak checks count them). */
  private restart(): void {
    if (!this.first) return;
    this.dispose();
    this.first = tf.tensor1d([-1, -1]);
    this.counter = tf.scalar(0);
    this.badCount = tf.scalar(0);
  }

  dispose(): void {
    const held: tf.Tensor[] = [];
    for (const t of [this.first, this.counter, this.badCount]) if (t) held.push(t);
    tf.dispose(held);
    this.first = undefined;
    this.counter = undefined;
    this.badCount = undefined;
  }
}

function describeQuantity(quantity: string): string {
  return quantity === 'loss' ? 'the loss' : `the gradient of ${quantity}`;
}
