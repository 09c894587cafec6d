import { describeValue } from './describe-value.js';
import { TensorloopError } from './errors.js';

/** How a plugin compares a monitored value: lower is better, higher is better, or `auto`. */
export type MonitorMode = 'auto' | 'min' | 'max';

/** Which way a metric improves (a metric spec's `direction`). */
export type MetricDirection = 'min' | 'max';

// Words that say which way a log key improves. Matched against the key's words (split at `_`, `-`,
// `.`, `/` and camelCase, lower-cased, trailing digits ignored: `map50` is `map`); the last word
// that matches decides, so `val_acc_loss` and `dice_loss` are losses and `precision_at_recall` is
// maximized.
const MAXIMIZED = new Set([
  'acc',
  'accuracy',
  'auc',
  'auroc',
  'auprc',
  'f1',
  'f2',
  'fbeta',
  'fscore',
  'fmeasure',
  'precision',
  'recall',
  'iou',
  'miou',
  'jaccard',
  'dice',
  'r2',
  'sensitivity',
  'specificity',
  'ap',
  'map',
  'ndcg',
  'mrr',
  'bleu',
  'rouge',
  'similarity',
]);
const MINIMIZED = new Set([
  'loss',
  'error',
  'err',
  'mse',
  'mae',
  'rmse',
  'mape',
  'msle',
  'rmsle',
  'crossentropy',
  'entropy',
  'nll',
  'hinge',
  'kld',
  'kl',
  'divergence',
  'perplexity',
  'ppl',
  'logcosh',
  'huber',
  'poisson',
  'wer',
  'cer',
]);
/** Words also recognised at the end of a glued word (`meaniou`, `categoricalcrossentropy`, `valauc`). */
const SUFFIXES: readonly [string, MetricDirection][] = [
  ['accuracy', 'max'],
  ['precision', 'max'],
  ['recall', 'max'],
  ['iou', 'max'],
  ['auc', 'max'],
  ['crossentropy', 'min'],
  ['entropy', 'min'],
  ['loss', 'min'],
  ['error', 'min'],
  ['divergence', 'min'],
  ['hinge', 'min'],
];

function wordDirection(word: string): MetricDirection | undefined {
  for (const w of [word, word.replace(/\d+$/, '')]) {
    if (MAXIMIZED.has(w)) return 'max';
    if (MINIMIZED.has(w)) return 'min';
  }
  for (const [suffix, direction] of SUFFIXES) if (word.endsWith(suffix)) return direction;
  return undefined;
}

/**
 * The direction a log key's name says, or undefined when it says none: accuracy-, auc-, f1-,
 * precision-, recall-, iou-like keys are maximized, loss- and error-like keys minimized (`val_`
 * and other prefixes do not matter).
 */
export function directionFromName(key: string): MetricDirection | undefined {
  const segments = key.split(/[^A-Za-z0-9]+/).filter((s) => s !== '');
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i]!;
    const words = segment.split(/(?<=[a-z0-9])(?=[A-Z])/).map((w) => w.toLowerCase());
    for (let j = words.length - 1; j >= 0; j--) {
      const direction = wordDirection(words[j]!);
      if (direction) return direction;
    }
    // `meanIoU` splits into mean/io/u: try the segment glued back together.
    const glued = wordDirection(segment.toLowerCase());
    if (glued) return glued;
  }
  return undefined;
}

/** Directions the trainer's metric specs declare (`{ name, fn, direction }`), by metric name (`ctx.metricDirections`). */
export type MetricDirections = ReadonlyMap<string, MetricDirection>;

function declaredDirection(
  key: string,
  directions: MetricDirections | undefined,
): MetricDirection | undefined {
  if (!directions) return undefined;
  return directions.get(key) ?? (key.startsWith('val_') ? directions.get(key.slice(4)) : undefined);
}

function checkMode(mode: unknown, plugin: string | undefined): asserts mode is MonitorMode {
  if (mode !== 'auto' && mode !== 'min' && mode !== 'max') {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `${plugin ? `[${plugin}] ` : ''}mode must be 'auto', 'min' or 'max'; got ${describeValue(mode)}.`,
      plugin === undefined ? {} : { plugin },
    );
  }
}

/**
 * `min` or `max` for `monitor`, or undefined when `mode` is `auto` and neither a metric spec's
 * `direction` nor the key's name tells. For factories that decide what they can early and the rest
 * at fit start.
 */
export function inferMonitorMode(
  monitor: string,
  mode: MonitorMode,
  directions?: MetricDirections,
): 'min' | 'max' | undefined {
  checkMode(mode, undefined);
  if (mode !== 'auto') return mode;
  return declaredDirection(monitor, directions) ?? directionFromName(monitor);
}

/**
 * The one rule for `mode: 'auto'` in every tensorloop plugin (early stopping, plateau, checkpoint):
 * a metric spec's declared `direction` first (`ctx.metricDirections`), then the key's name (see `directionFromName`);
 * otherwise `TL_OPTION_INVALID` asking for `mode`, since guessing `min` would silently minimize a
 * custom `val_auc`. Plugins call it at fit start, before any training step.
 */
export function resolveMonitorMode(
  monitor: string,
  mode: MonitorMode,
  plugin?: string,
  directions?: MetricDirections,
): 'min' | 'max' {
  checkMode(mode, plugin);
  const resolved = inferMonitorMode(monitor, mode, directions);
  if (resolved !== undefined) return resolved;
  throw new TensorloopError(
    'TL_OPTION_INVALID',
    `${plugin ? `[${plugin}] ` : ''}cannot tell whether "${monitor}" should be maximized or minimized: mode 'auto' maximizes accuracy-, auc-, f1-, precision-, recall- and iou-like keys and minimizes loss- and error-like ones, and no metric spec declares a direction for it. Pass mode: 'max' (higher is better) or mode: 'min' (lower is better), or declare the metric with { name, fn, direction: 'max' }.`,
    plugin === undefined ? {} : { plugin },
  );
}
