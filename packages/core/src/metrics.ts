import * as tf from '@tensorflow/tfjs';
import { TensorloopError } from './errors.js';
import type { LossSpec } from './losses.js';
import type { MetricDirection } from './monitor-mode.js';
import { shownValue } from './shown-value.js';

export type MetricFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

export type MetricName =
  | 'accuracy'
  | 'acc'
  | 'binaryAccuracy'
  | 'categoricalAccuracy'
  | 'sparseCategoricalAccuracy'
  | 'mse'
  | 'meanSquaredError'
  | 'mae'
  | 'meanAbsoluteError';

/**
 * A metric by name, a named function, or `{ name, fn, direction? }`. Values are averaged over
 * samples. `direction` (`'max'`: higher is better) is what `mode: 'auto'` of early stopping,
 * plateau and checkpoint plugins uses for this metric's keys (`name`, `val_name`).
 */
export type MetricSpec =
  | MetricName
  | MetricFn
  | { readonly name: string; readonly fn: MetricFn; readonly direction?: MetricDirection };

export interface ResolvedMetric {
  /** The log key (`accuracy`; validation adds `val_`). */
  readonly name: string;
  readonly fn: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;
  /** Which way it improves, when its spec says (`mode: 'auto'` reads it first). */
  readonly direction?: MetricDirection;
  /** The built-in metric's name (`'accuracy'`); undefined for a function (what a gradient source in a worker rebuilds from). */
  readonly builtin?: string;
}

function sparseCategoricalAccuracy(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const labels = tf.cast(tf.reshape(yTrue, [-1]), 'int32');
    const predicted = tf.cast(tf.argMax(yPred, -1), 'int32');
    return tf.cast(tf.equal(tf.reshape(predicted, [-1]), labels), 'float32');
  });
}

const BY_NAME: Record<Exclude<MetricName, 'accuracy' | 'acc'>, MetricFn> = {
  binaryAccuracy: tf.metrics.binaryAccuracy,
  categoricalAccuracy: tf.metrics.categoricalAccuracy,
  sparseCategoricalAccuracy,
  mse: tf.metrics.meanSquaredError,
  meanSquaredError: tf.metrics.meanSquaredError,
  mae: tf.metrics.meanAbsoluteError,
  meanAbsoluteError: tf.metrics.meanAbsoluteError,
};

export const METRIC_NAMES = ['accuracy', 'acc', ...Object.keys(BY_NAME)] as MetricName[];

/** `accuracy` means what Keras makes of it for the loss in use. */
function accuracyFor(loss: LossSpec | undefined): MetricFn {
  if (loss === 'binaryCrossentropy') return tf.metrics.binaryAccuracy;
  if (loss === 'sparseCategoricalCrossentropy') return sparseCategoricalAccuracy;
  return tf.metrics.categoricalAccuracy;
}

function mean(value: tf.Tensor): tf.Scalar {
  return (value.rank === 0 ? value : tf.mean(value)) as tf.Scalar;
}

export function resolveMetrics(
  specs: readonly MetricSpec[] | undefined,
  loss: LossSpec | undefined,
): ResolvedMetric[] {
  if (specs !== undefined && !Array.isArray(specs as unknown)) {
    throw new TensorloopError(
      'TL_METRIC_UNKNOWN',
      `metrics must be an array such as ['accuracy'] or [{ name, fn }]; got ${shownValue(specs)}.`,
    );
  }
  const out: ResolvedMetric[] = [];
  for (const spec of specs ?? []) {
    let name: string;
    let fn: MetricFn | undefined;
    let direction: MetricDirection | undefined;
    if (typeof spec === 'string') {
      name = spec;
      fn =
        spec === 'accuracy' || spec === 'acc'
          ? accuracyFor(loss)
          : (BY_NAME as Record<string, MetricFn | undefined>)[spec];
      if (!fn) {
        throw new TensorloopError(
          'TL_METRIC_UNKNOWN',
          `Unknown metric "${spec}". Known metrics: ${METRIC_NAMES.join(', ')}; or pass { name, fn: (yTrue, yPred) => tensor }.`,
        );
      }
    } else if (typeof spec === 'function') {
      name = spec.name;
      fn = spec;
      if (!name) {
        throw new TensorloopError(
          'TL_METRIC_UNKNOWN',
          'A metric function has no name to use as its log key. Pass { name: "myMetric", fn } instead.',
        );
      }
    } else if (typeof spec === 'object' && spec !== null && typeof spec.fn === 'function' && spec.name) {
      name = spec.name;
      fn = spec.fn;
      if (spec.direction !== undefined) {
        if (spec.direction !== 'min' && spec.direction !== 'max') {
          throw new TensorloopError(
            'TL_METRIC_UNKNOWN',
            `Metric "${name}": direction must be 'max' (higher is better) or 'min'; got ${shownValue(spec.direction)}.`,
          );
        }
        direction = spec.direction;
      }
    } else {
      throw new TensorloopError(
        'TL_METRIC_UNKNOWN',
        `Invalid entry in metrics: ${shownValue(spec)}; expected a metric name, a named function or { name, fn }.`,
      );
    }
    if (name === 'loss' || out.some((m) => m.name === name)) {
      throw new TensorloopError(
        'TL_METRIC_UNKNOWN',
        `Metric name "${name}" is used twice (or is "loss"). Give each metric a distinct name.`,
      );
    }
    const metricFn = fn;
    out.push({
      name,
      fn: (t, p) => mean(metricFn(t, p)),
      ...(direction ? { direction } : {}),
      ...(typeof spec === 'string' ? { builtin: spec } : {}),
    });
  }
  return out;
}

/** Metric name → the direction its spec declares (for `ctx.metricDirections` and `mode: 'auto'`). */
export function metricDirectionsOf(metrics: readonly ResolvedMetric[]): ReadonlyMap<string, 'min' | 'max'> {
  return new Map(metrics.flatMap((m) => (m.direction ? [[m.name, m.direction] as const] : [])));
}
