// Resume contract for @tensorloop/finetune-scheduler: a 4-phase schedule on an MLP with BatchNorm and
// core Adam. Phase 0 ends at epoch 1 and phase 1 at epoch 2 (maxTransitionEpoch); phase 2 runs a
// per-step cosine lr factor (newLrSchedule through @tensorloop/lr-schedules) and ends by early
// stopping on a scripted val_probe (patience 1) after epoch 4; phase 3 starts at epoch 5 from the
// restored best weights (epoch 3) and the final phase's early stop ends the run at epoch 6.
// Depth per epoch: 0, 1, 2, 2, 2, 3, 3. Decisions: depth, groups and lrs at every epoch start, the
// group lrs at every optimizer step, every transition, and the restores at the end.
import * as tf from '@tensorflow/tfjs';
import { adam, definePlugin, type TensorloopOptimizer, Trainer } from '@tensorloop/core';
import { finetuneScheduler } from '@tensorloop/finetune-scheduler';
import { classificationData } from '@tensorloop/test-fixtures';
import type { ContractScenario } from '@tensorloop/testkit';
import { decisionLog } from './common.js';

const FTS = '@tensorloop/finetune-scheduler';
const VAL_PROBE = [1.0, 0.9, 0.8, 0.7, 0.75, 0.6, 0.65];

function model(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'a',
        inputShape: [6],
        units: 8,
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.dense({ name: 'b', units: 8, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.dense({ name: 'out', units: 3, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
}

const scenario: ContractScenario = {
  async create(extraPlugins) {
    const log = decisionLog();
    const groups = (ctx: { optimizer: unknown }) =>
      (ctx.optimizer as TensorloopOptimizer).groups.map((g) => [g.name, g.hparams.lr]);
    const probe = definePlugin({
      name: 'contract:val-probe',
      logKeys: ['val_probe'],
      onEpochEnd(_ctx, e) {
        e.logs.val_probe = VAL_PROBE[e.epoch];
      },
    });
    const observer = definePlugin({
      name: 'contract:fts-observer',
      after: [FTS],
      onEpochStart(ctx, e) {
        const fts = ctx.plugin(FTS);
        log.push({
          epoch: e.epoch,
          depth: fts.currDepth,
          depthRemaining: fts.depthRemaining,
          groups: groups(ctx),
          frozen: ctx
            .parameters()
            .filter((p) => !p.trainable)
            .map((p) => p.name),
        });
      },
      afterOptimizerStep(ctx) {
        log.push({ step: ctx.time.step, lrs: groups(ctx) });
      },
      'finetune:transition'(_ctx, e) {
        log.push({
          transition: e.depth,
          epoch: e.epoch,
          reason: e.reason,
          restored: e.restoredBestEpoch ?? null,
        });
      },
      onFitEnd(ctx) {
        const fts = ctx.plugin(FTS);
        log.push({ end: fts.currDepth, restores: fts.restores, best: fts.best ?? null });
      },
    });
    const trainer = new Trainer({
      model: model(),
      loss: 'categoricalCrossentropy',
      optimizer: adam({ lr: 0.01 }),
      plugins: [
        probe,
        finetuneScheduler({
          schedule: {
            0: { params: ['out/.*'], maxTransitionEpoch: 1 },
            1: { params: ['b/.*'], lr: 0.005, maxTransitionEpoch: 2 },
            2: {
              params: ['bn/.*'],
              lr: 0.004,
              newLrSchedule: { fn: 'cosine', args: { from: 1, to: 0.1 }, every: 'step', total: 9 },
            },
            3: { params: ['a/.*'] },
          },
          earlyStopping: { monitor: 'val_probe', mode: 'min', patience: 1 },
          logDir: false,
        }),
        observer,
        ...extraPlugins,
      ],
      seed: 17,
      log: 'silent',
    });
    return {
      trainer,
      data: classificationData(48, 6, 3, 21),
      fit: { epochs: 9, batchSize: 16 },
      takeDecisions: log.take,
    };
  },
};

export default scenario;
