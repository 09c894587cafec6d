// Resume contract for @tensorloop/report: one-cycle over core adam, reduceOnPlateau, and a phase
// boundary a finetune-like plugin announces at epoch 2. Decision: what the report holds at the end
// of the fit (epoch logs to 6 digits, every hyperparameter point, every boundary, stop and plateau
// event, the fit record), so a resumed run must end with the report an uninterrupted one writes.
import { adam, definePlugin, Trainer } from '@tensorloop/core';
import type {} from '@tensorloop/finetune-scheduler';
import { oneCycle, reduceOnPlateau } from '@tensorloop/lr-schedules';
import { type ReportHistory, report } from '@tensorloop/report';
import type { ContractScenario } from '@tensorloop/testkit';
import { mnistMlp, mnistSplit } from './common.js';

const round = (v: number) => Number(v.toPrecision(6));

/** The parts of history.json that do not depend on wall time. */
function summary(h: ReportHistory): unknown {
  return {
    epochs: h.epochs.map((e) => ({
      epoch: e.epoch,
      step: e.step,
      batches: e.batches,
      x: e.x,
      logs: Object.fromEntries(Object.entries(e.logs).map(([k, v]) => [k, round(v)])),
    })),
    hparams: h.hparams.map((s) => ({
      name: s.name,
      group: s.group,
      points: s.points.map((p) => [p.step, p.x, p.value]),
    })),
    events: h.events.filter((e) => e.kind !== 'message').map((e) => [e.kind, e.x, e.step, e.label]),
    fits: h.fits.map(({ seconds: _seconds, ...rest }) => rest),
  };
}

const scenario: ContractScenario = {
  async create(extraPlugins) {
    const { train, val } = mnistSplit();
    const rep = report({ write: 'manual' });
    let ended = false;
    const phases = definePlugin({
      name: 'contract:phases',
      async onEpochStart(ctx) {
        if (ctx.time.epoch === 2)
          // The event @tensorloop/finetune-scheduler declares and fires, announced here by hand.
          await ctx.emit('finetune:transition', {
            depth: 1,
            phase: 1,
            previousDepth: 0,
            epoch: 2,
            reason: 'maxTransitionEpoch',
            message: '',
            name: 'all layers',
            unfrozen: ['hidden/kernel'],
            group: 'phase1',
            lr: 1e-3,
            restoredBestEpoch: undefined,
          });
      },
      onFitEnd() {
        ended = true;
      },
    });
    const trainer = new Trainer({
      model: mnistMlp(17),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: adam({ lr: 1e-3 }),
      plugins: [
        phases,
        oneCycle({ maxLr: 0.02 }),
        reduceOnPlateau({ monitor: 'val_loss', patience: 0, factor: 0.5, threshold: 0.05 }),
        rep,
        ...extraPlugins,
      ],
      seed: 3,
      log: 'silent',
    });
    return {
      trainer,
      data: train,
      fit: { epochs: 5, batchSize: 40, validationData: val },
      // Only a process that finished the fit reports (the interrupted one hands its record over in the checkpoint).
      takeDecisions: () => (ended ? [summary(rep.history())] : []),
    };
  },
};

export default scenario;
