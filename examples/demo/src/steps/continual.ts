import * as tf from '@tensorflow/tfjs';
import { Trainer } from '@tensorloop/core';
import { MetaTrainer } from '@tensorloop/meta-trainer';
import { digits } from '../data.js';
import type { DemoStep } from './step.js';

/** A small dense network for the Split-MNIST sequence (the convnet of (b) stays as it is). */
function mlp(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1] }),
      tf.layers.dense({
        name: 'cl_hidden',
        units: 128,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }),
      }),
      tf.layers.dense({
        name: 'cl_out',
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }),
      }),
    ],
  });
}

/**
 * (d) A short Split-MNIST sequence with @tensorloop/meta-trainer: five stages of two digits each,
 * trained one after the other with plain finetuning, every task's test digits evaluated before the
 * first stage and after each. The report draws the accuracy matrix as a heatmap and each stage as a
 * boundary; the terminal shows the forgetting.
 */
export const continual: DemoStep = {
  id: 'split-mnist',
  title: '(d) continual learning on Split-MNIST, stage by stage (naive finetuning: watch it forget)',
  async run(state) {
    const tasks = [0, 2, 4, 6, 8].map((d) => ({ name: `${d}/${d + 1}`, ...digits([d, d + 1], 0.5) }));
    const trainer = new Trainer({
      model: mlp(),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: tf.train.adam(1e-3),
      plugins: [state.progress(), state.report],
      seed: 7,
      log: 'silent',
    });
    const meta = new MetaTrainer(trainer);
    const { results } = await meta.run(
      tasks.map((t) => ({ name: t.name, data: { x: t.train.x, y: t.train.y }, epochs: 1, batchSize: 64 })),
      {
        evaluate: {
          streams: { test: tasks.map((t) => ({ x: t.test.x, y: t.test.y })) },
          at: 'init-and-each-stage',
        },
      },
    );
    const matrix = results.matrices[0]!;
    state.report.api.recordAccuracyMatrix({
      tasks: tasks.map((t) => t.name),
      matrix: matrix.accuracy.slice(-tasks.length),
      stages: tasks.map((t) => `after ${t.name}`),
    });
    const summary = results.summary[0]!;
    state.say(
      `accuracy matrix (rows: after each stage; columns: tasks ${tasks.map((t) => t.name).join(', ')}):`,
    );
    for (const row of matrix.accuracy.slice(-tasks.length)) {
      state.say(`  ${row.map((v) => `${(v * 100).toFixed(1).padStart(5)}%`).join(' ')}`);
    }
    state.say(
      `average accuracy ${(summary.averageAccuracy * 100).toFixed(1)}%, forgetting ${(summary.forgetting * 100).toFixed(1)}% (a replay buffer cuts it: examples/split-mnist)`,
    );
    state.results['split-mnist forgetting'] = summary.forgetting;
    meta.dispose();
    for (const t of tasks) tf.dispose([t.train.x, t.train.y, t.test.x, t.test.y]);
  },
};
