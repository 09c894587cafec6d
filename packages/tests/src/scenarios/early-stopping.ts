// Resume contract for @tensorloop/early-stopping: real MNIST, val_loss bottoms out at epoch 3 and rises
// (overfitting); patience 3 with restoreBestWeights stops at epoch 6 and puts epoch 3's weights back.
// The harness interrupts after epoch 4 (mid-patience: wait 1, best weights from before the checkpoint).
import { adam, definePlugin, Trainer } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import type { ContractScenario } from '../contract/scenario.js';
import { decisionLog, mnistMlp, mnistSplit } from './common.js';

const scenario: ContractScenario = {
  async create(extraPlugins) {
    const { train, val } = mnistSplit();
    const log = decisionLog();
    // Records what early stopping decided at each epoch end (it runs before this plugin).
    const observer = definePlugin({
      name: 'contract:es-observer',
      after: ['@tensorloop/early-stopping'],
      onEpochEnd(ctx, e) {
        const es = ctx.plugin('@tensorloop/early-stopping');
        log.push({ epoch: e.epoch, best: es.best, bestEpoch: es.bestEpoch, wait: es.wait });
      },
      onFitEnd(ctx) {
        const es = ctx.plugin('@tensorloop/early-stopping');
        log.push({ stoppedEpoch: es.stoppedEpoch ?? null });
      },
    });
    const trainer = new Trainer({
      model: mnistMlp(1),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      // Core's Adam: its state round-trips exactly (tf.train.adam recomputes beta^t on restore, a float32 drift).
      optimizer: adam({ lr: 0.01 }),
      plugins: [
        earlyStopping({ monitor: 'val_loss', patience: 3, restoreBestWeights: true, verbose: false }),
        observer,
        ...extraPlugins,
      ],
      seed: 11,
      log: 'silent',
    });
    return {
      trainer,
      data: train,
      fit: { epochs: 10, batchSize: 32, validationData: val },
      takeDecisions: log.take,
    };
  },
};

export default scenario;
