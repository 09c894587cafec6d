// Resume contract for @tensorloop/meta-trainer: three stages of real digits (0–3, 4–6, 7–9) with
// stage-scoped early stopping (best weights restored), a stage that freezes all but the output layer
// (BatchNorm frozen: inference mode), a fresh core Adam, then a stage with its own tfjs Adam; the
// evaluation matrix after every stage and at init. Interrupted in the middle of a stage.
import * as tf from '@tensorflow/tfjs';
import { adam, definePlugin, Trainer } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import { freezeExcept, MetaTrainer, type StageSpec } from '@tensorloop/meta-trainer';
import { mnistTensors } from '@tensorloop/test-fixtures';
import type { ContractScenario } from '@tensorloop/testkit';
import { decisionLog, mnistMlp } from './common.js';

/** Digits of `classes`, `perClass` each from `offset` (mnistTensors is in class order). */
function digits(
  classes: readonly number[],
  perClass: number,
  offset: number,
): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const all = mnistTensors(perClass, offset);
    const pick = (t: tf.Tensor2D) =>
      tf.concat(classes.map((c) => tf.slice(t, [c * perClass, 0], [perClass, -1]))) as tf.Tensor2D;
    return { x: pick(all.x), y: pick(all.y) };
  });
}

const TASKS = [
  [0, 1, 2, 3],
  [4, 5, 6],
  [7, 8, 9],
];

const scenario: ContractScenario = {
  async create(extraPlugins) {
    const train = TASKS.map((c) => digits(c, 30, 0));
    const test = TASKS.map((c) => digits(c, 10, 500));
    const log = decisionLog();
    const observer = definePlugin({
      name: 'contract:meta-observer',
      'meta:evalEnd': (_ctx, e) =>
        log.push({ eval: e.stage, accuracy: e.matrices[0]!.accuracy.at(-1) ?? e.matrices[0]!.initial }),
      'meta:stageEnd': (_ctx, e) =>
        log.push({
          stageEnd: e.stage,
          epochs: e.history.map((h) => h.epoch),
          stop: e.stopReason?.message ?? null,
        }),
    });
    const trainer = new Trainer({
      model: mnistMlp(3),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: adam({ lr: 0.03 }),
      plugins: [observer, ...extraPlugins],
      seed: 5,
      log: 'silent',
    });
    const stages: StageSpec[] = [
      {
        name: 'digits 0-3',
        data: train[0]!,
        epochs: 4,
        batchSize: 16,
        validationData: test[0]!,
        plugins: [
          earlyStopping({
            monitor: 'val_loss',
            minDelta: 0.05,
            patience: 1,
            restoreBestWeights: true,
            verbose: false,
          }),
        ],
      },
      {
        name: 'digits 4-6, head only',
        data: train[1]!,
        epochs: 3,
        batchSize: 16,
        optimizer: 'new',
        plugins: [freezeExcept(/^out\//)],
      },
      { name: 'digits 7-9', data: train[2]!, epochs: 3, batchSize: 16, optimizer: tf.train.adam(0.03) },
    ];
    const meta = new MetaTrainer(trainer);
    return {
      trainer,
      data: train[0]!,
      fit: { epochs: 1 },
      takeDecisions: log.take,
      async run(resumeFrom) {
        const out = await meta.run(stages, {
          evaluate: { streams: { test }, at: 'init-and-each-stage' },
          ...(resumeFrom ? { resumeFrom } : {}),
        });
        log.push({ summary: out.results.summary[0] });
        return out.stopReason;
      },
    };
  },
};

export default scenario;
