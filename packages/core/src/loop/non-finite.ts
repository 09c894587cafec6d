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
 * The watch's step in one backend kernel: a backend may register it (`@tensorloop/backend-wasm`
 * does for 'wasm'); core looks it up by name at each step and otherwise computes the same state with
 * tf ops (`foldWithOps`). The names and layout are a contract with the backend package:
 *
 * - input `state`, float32 `[4]`: `[firstStep, firstQuantity, counter, badCount]` (see `FRESH`);
 * - input `gate` (optional), float32 scalar: the plugins' step gate; when 0 the gradients do not
 *   count (the loss always does);
 * - inputs `q0` (the loss) … `q<count-1>` (the gradients), float32; attr `count`;
 * - output: the new state. With bad_i = "q_i has a NaN or ±Inf" (and the gate ≠ 0, for i ≥ 1),
 *   anyBad = any bad_i and which = the first i with bad_i: when firstStep < 0 and anyBad, the first
 *   pair becomes `[counter, which]`; counter + 1; badCount + anyBad.
 */
export const NON_FINITE_FOLD_KERNEL = 'TensorloopNonFiniteFold';

/**
 * The device record after a read-back: no non-finite step yet (first step and quantity -1), no
 * steps observed, none bad.
 */
const FRESH = [-1, -1, 0, 0];

/**
 * Watches every optimizer step for non-finite values on the device, without a read of its own: each
 * step folds, on the device, "is anything not finite, and which quantity first" into one kept
 * `[4]` tensor; it rides on the loop's read-backs (epoch logs, batch logs with `logEvery` or a
 * plugin that needs them, a checkpoint), as a plugin's `readback` does. A gradient that a plugin's
 * step gate rejects (AMP's overflow skip) is that plugin's business and is not reported; a
 * non-finite loss always is (the raw loss, before loss scaling).
 */
export class NonFiniteWatch {
  /** `[firstStep, firstQuantity, counter, badCount]` on the device (the layout of `NON_FINITE_FOLD_KERNEL`). */
  private state: tf.Tensor1D | undefined;
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
    const state = this.state ?? tf.tensor1d(FRESH);
    const quantities = [loss ?? tf.scalar(0), ...grads.values()];
    const gate = pluginGate === undefined ? undefined : tf.cast(pluginGate, 'float32');
    const next = tf.keep(
      quantities.every((q) => q.dtype === 'float32') &&
        tf.getKernel(NON_FINITE_FOLD_KERNEL, tf.getBackend()) !== undefined
        ? foldWithKernel(state, gate, quantities)
        : foldWithOps(state, gate, quantities),
    );
    // "Everything finite": this step added nothing to badCount.
    const finite =
      this.mode === 'skip' ? (tf.reshape(tf.slice(tf.equal(next, state), 3, 1), []) as tf.Scalar) : undefined;
    state.dispose();
    this.state = next;
    if (finite === undefined) return pluginGate;
    return pluginGate === undefined ? finite : (tf.logicalAnd(pluginGate, finite) as tf.Scalar);
  }

  /** Rides on the loop's read-backs, as a plugin's `readback` does. */
  readonly readback: PluginReadback = {
    tensors: (): Readonly<Record<string, tf.Scalar>> => {
      const state = this.state;
      if (!state) return {};
      const at = (i: number) => tf.reshape(tf.slice(state, i, 1), []) as tf.Scalar;
      return { step: at(0), quantity: at(1), bad: at(3) };
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
    if (!this.state) return;
    this.state.dispose();
    this.state = tf.tensor1d(FRESH);
  }

  dispose(): void {
    this.state?.dispose();
    this.state = undefined;
  }
}

function foldWithKernel(
  state: tf.Tensor1D,
  gate: tf.Scalar | undefined,
  quantities: readonly tf.Tensor[],
): tf.Tensor1D {
  const inputs: Record<string, tf.Tensor> = { state };
  if (gate !== undefined) inputs.gate = gate;
  quantities.forEach((q, i) => {
    inputs[`q${i}`] = q;
  });
  return tf.engine().runKernel(NON_FINITE_FOLD_KERNEL, inputs, { count: quantities.length }) as tf.Tensor1D;
}

/** `NON_FINITE_FOLD_KERNEL`'s arithmetic in tf ops (any backend, any dtype). */
function foldWithOps(
  state: tf.Tensor1D,
  gate: tf.Scalar | undefined,
  quantities: readonly tf.Tensor[],
): tf.Tensor1D {
  // x·0 is 0 for a finite x and NaN otherwise, so one sum per quantity says whether all of it is finite.
  const probes = quantities.map((q) => (q.rank === 0 ? tf.mul(q, 0) : tf.sum(tf.mul(q, 0))));
  let bad = tf.cast(tf.logicalNot(tf.isFinite(tf.stack(probes))), 'float32') as tf.Tensor1D;
  if (gate !== undefined && quantities.length > 1) {
    bad = tf.mul(
      bad,
      tf.concat([tf.ones([1]), tf.broadcastTo(gate, [quantities.length - 1])]),
    ) as tf.Tensor1D;
  }
  const anyBad = tf.max(bad);
  const which = tf.cast(tf.argMax(bad), 'float32');
  const [firstStep, , counter, badCount] = tf.unstack(state) as tf.Scalar[];
  const take = tf.logicalAnd(tf.less(firstStep!, 0), tf.greater(anyBad, 0));
  const first = tf.where(tf.broadcastTo(take, [2]), tf.stack([counter!, which]), tf.slice(state, 0, 2));
  return tf.concat([first, tf.stack([tf.add(counter!, 1), tf.add(badCount!, anyBad)])]) as tf.Tensor1D;
}

function describeQuantity(quantity: string): string {
  return quantity === 'loss' ? 'the loss' : `the gradient of ${quantity}`;
}

/**
 * A bool scalar: `t` holds a NaN or ±Infinity (`checkData`'s scan of whole datasets). One pass of
 * `NON_FINITE_FOLD_KERNEL` when the backend has it (about 5× faster than isFinite + all on wasm,
 * with no bool tensor the size of the data); tf ops otherwise. Call it inside a tidy.
 */
export function hasNonFinite(t: tf.Tensor): tf.Scalar {
  if (t.dtype === 'float32' && tf.getKernel(NON_FINITE_FOLD_KERNEL, tf.getBackend()) !== undefined) {
    const state = foldWithKernel(tf.tensor1d(FRESH), undefined, [t]);
    return tf.greater(tf.reshape(tf.slice(state, 3, 1), []), 0) as tf.Scalar;
  }
  return tf.logicalNot(tf.all(tf.isFinite(t))) as tf.Scalar;
}
