import * as tf from '@tensorflow/tfjs';
import { Trainer } from '@tensorloop/core';
import { findLr } from '@tensorloop/lr-schedules';
import type { DemoStep } from './step.js';

/** (a) The LR range test on digits 0–4: the model and optimizer are restored afterwards. */
export const findLearningRate: DemoStep = {
  id: 'find-lr',
  title: '(a) find a learning rate (LR range test on digits 0–4)',
  async run(state) {
    const finder = new Trainer({
      model: state.model,
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.adam(1e-3),
      log: 'silent',
    });
    const result = await findLr(finder, state.low.train, {
      start: 1e-6,
      end: 1,
      steps: 80,
      batchSize: 64,
      seed: 1,
    });
    const s = result.suggestions;
    // fastai's usual pick is `valley`; kept inside a range a small convnet with Adam trains well in.
    const lr = Math.min(1e-2, Math.max(5e-4, s?.valley.lr ?? 3e-3));
    state.lr = lr;
    state.report.recordLrFinder(result, { chosen: lr });
    const e = (v: number) => v.toExponential(1);
    state.say(
      `LR range test: ${result.curve.length} steps from lr 1e-6 to 1${result.stoppedBy === 'diverged' ? ', stopped when the loss diverged' : ''}; ` +
        (s
          ? `suggestions: valley ${e(s.valley.lr)}, steepest ${e(s.steepest.lr)}, minimum ${e(s.minimum.lr)}`
          : 'no suggestion') +
        ` → one-cycle up to lr ${e(lr)}`,
    );
  },
};
