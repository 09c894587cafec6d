// Resume contract for @tensorloop/lr-schedules: one-cycle (lr and beta1 per step, core adam) with
// reduceOnPlateau multiplying the lr on val_loss. Decisions: the lr and beta1 the optimizer used at
// every step, and every plateau reduction.
import { adam, definePlugin, type TensorloopOptimizer, Trainer } from '@tensorloop/core';
import { oneCycle, type PlateauApi, reduceOnPlateau } from '@tensorloop/lr-schedules';
import type { ContractScenario } from '../contract/scenario.js';
import { decisionLog, mnistMlp, mnistSplit } from './common.js';

const PLATEAU = '@tensorloop/lr-schedules:plateau';

const scenario: ContractScenario = {
  async create(extraPlugins) {
    const { train, val } = mnistSplit();
    const log = decisionLog();
    let reported = 0;
    const recorder = definePlugin({
      name: 'contract:lr-recorder',
      after: ['@tensorloop/lr-schedules:one-cycle', PLATEAU],
      afterOptimizerStep(ctx) {
        const group = (ctx.optimizer as TensorloopOptimizer).groups.find((g) => g.name === 'default')!;
        log.push({ step: ctx.time.step, lr: group.hparams.lr, beta1: group.hparams.beta1 });
      },
      onEpochEnd(ctx) {
        const reductions = (ctx.plugin(PLATEAU) as PlateauApi).reductions();
        for (const r of reductions.slice(reported)) log.push({ reduced: r });
        reported = reductions.length;
      },
      state: () => ({ reported }),
      loadState: (s) => {
        reported = (s as { reported: number }).reported;
      },
    });
    const trainer = new Trainer({
      model: mnistMlp(9),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: adam({ lr: 1e-3 }),
      plugins: [
        oneCycle({ maxLr: 0.05, pctStart: 0.3 }),
        reduceOnPlateau({ monitor: 'val_loss', patience: 0, factor: 0.5, threshold: 0.05 }),
        recorder,
        ...extraPlugins,
      ],
      seed: 13,
      log: 'silent',
    });
    return {
      trainer,
      data: train,
      fit: { epochs: 5, batchSize: 40, validationData: val },
      takeDecisions: log.take,
    };
  },
};

export default scenario;
