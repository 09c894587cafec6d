// Fixtures for this package's tests (not part of the public surface).
import * as tf from '@tensorflow/tfjs';
import { type AnyOptimizer, definePlugin, type LogEntry, type Plugin, Trainer } from '@tensorloop/core';
import { classificationData, mnistTensors } from '@tensorloop/test-fixtures';

export { classificationData, maxAbsDiff, weightsOf } from '@tensorloop/test-fixtures';

/** features (4 → 8, relu) → classifier (8 → 3, softmax), seeded, with stable weight names. */
export function tinyModel(seed = 1, inputs = 4, classes = 3, hidden = 8): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'features',
        units: hidden,
        inputShape: [inputs],
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({
        name: 'classifier',
        units: classes,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

export function tinyTrainer(
  options: { plugins?: Plugin[]; optimizer?: AnyOptimizer; log?: LogEntry[]; model?: tf.LayersModel } = {},
): Trainer {
  return new Trainer({
    model: options.model ?? tinyModel(),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: options.optimizer ?? tf.train.sgd(0.1),
    plugins: options.plugins ?? [],
    seed: 3,
    log: options.log ? (e) => void options.log!.push(e) : 'silent',
  });
}

/** Three small synthetic tasks (different labelling rules), 20 samples each. */
export function tasks(count = 3, n = 20): { x: tf.Tensor2D; y: tf.Tensor2D }[] {
  return Array.from({ length: count }, (_v, i) => classificationData(n, 4, 3, 11 + 5 * i));
}

/** Records every event it handles, core and meta, as short strings (`name:event(detail)`). */
export function tracer(name: string, log: string[], extra: Partial<Plugin> = {}): Plugin {
  const push = (s: string) => void log.push(`${name}:${s}`);
  return definePlugin({
    name,
    ...extra,
    onFitStart: (_c, e) => push(`fitStart(${e.fitIndex}${e.resumed ? ',resumed' : ''})`),
    onEpochStart: (_c, e) => push(`epochStart(${e.epoch})`),
    onEpochEnd: (_c, e) => push(`epochEnd(${e.epoch})`),
    onFitEnd: (_c, e) => push(`fitEnd(${e.completed})`),
    onEvaluateStart: () => push('evaluateStart'),
    onEvaluateEnd: () => push('evaluateEnd'),
    'meta:stageStart': (_c, e) => push(`stageStart(${e.stage},${e.name}${e.resumed ? ',resumed' : ''})`),
    'meta:stageEnd': (_c, e) => push(`stageEnd(${e.stage},${e.name})`),
    'meta:evalStart': (_c, e) => push(`evalStart(${e.stage})`),
    'meta:evalEnd': (_c, e) => push(`evalEnd(${e.stage})`),
  });
}

/** Real MNIST digits of the given classes: `perClass` each from `offset`, in class order. */
export function digits(
  classes: readonly number[],
  perClass: number,
  offset = 0,
): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const all = mnistTensors(perClass, offset);
    const pick = (t: tf.Tensor2D) =>
      tf.concat(classes.map((c) => tf.slice(t, [c * perClass, 0], [perClass, -1]))) as tf.Tensor2D;
    return { x: pick(all.x), y: pick(all.y) };
  });
}
