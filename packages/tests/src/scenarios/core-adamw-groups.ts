// Resume contract for core alone with a core optimizer: adamw with param groups and no-decay,
// a multiplicative lr decay written through the hyperparameter store, gradient clipping,
// accumulation over 2 micro-batches, and a plugin that stops the fit by its own counter.
import { adamw, definePlugin, stop, Trainer } from '@tensorloop/core';
import type { ContractScenario } from '@tensorloop/testkit';
import { decisionLog, mnistMlp, mnistSplit } from './common.js';

const scenario: ContractScenario = {
  async create(extraPlugins) {
    const { train, val } = mnistSplit();
    const log = decisionLog();
    let decays = 0;
    const decay = definePlugin({
      name: 'contract:decay',
      hparams: [{ name: 'lr', mode: 'multiply', groups: ['default'] }],
      onEpochEnd(ctx, e) {
        decays += 1;
        ctx.hparams.set('lr', 0.7 ** decays, { group: 'default' });
        log.push({ epoch: e.epoch, lr: ctx.hparams.get('lr', { group: 'default' }) });
      },
      state: () => ({ decays }),
      loadState: (s) => {
        decays = (s as { decays: number }).decays;
      },
    });
    let seen = 0;
    const stopper = definePlugin({
      name: 'contract:stopper',
      onEpochEnd(_ctx, e) {
        seen += 1;
        if (seen === 4) {
          log.push({ stopAt: e.epoch });
          return stop(`stopped after ${seen} epochs`);
        }
      },
      state: () => ({ seen }),
      loadState: (s) => {
        seen = (s as { seen: number }).seen;
      },
    });
    const trainer = new Trainer({
      model: mnistMlp(3),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: adamw({
        lr: 0.01,
        weightDecay: 0.05,
        noDecay: 'bias-and-norm',
        groups: [{ name: 'head', match: /^out\//, lr: 0.003 }],
      }),
      plugins: [decay, stopper, ...extraPlugins],
      gradientClip: { maxNorm: 1 },
      accumulateBatches: 2,
      seed: 5,
      log: 'silent',
    });
    return {
      trainer,
      data: train,
      fit: { epochs: 6, batchSize: 20, validationData: val },
      takeDecisions: log.take,
    };
  },
};

export default scenario;
