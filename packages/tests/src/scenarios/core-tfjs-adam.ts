// Resume contract for core alone: tf.train.adam, shuffled tensor data, a layer frozen from the start,
// a plugin that freezes and unfreezes BatchNorm by epoch (phase transitions, in its state).
import * as tf from '@tensorflow/tfjs';
import { definePlugin, Trainer } from '@tensorloop/core';
import type { ContractScenario } from '@tensorloop/testkit';
import { decisionLog, mnistMlp, mnistSplit } from './common.js';

const scenario: ContractScenario = {
  async create(extraPlugins) {
    const { train, val } = mnistSplit();
    const log = decisionLog();
    let phase = 'all';
    const phases = definePlugin({
      name: 'contract:phases',
      onEpochEnd(ctx, e) {
        const next = e.epoch === 1 ? 'bn-frozen' : e.epoch === 3 ? 'all' : phase;
        if (next !== phase) {
          if (next === 'bn-frozen') ctx.freeze(/^bn\//);
          else ctx.unfreeze(/^bn\//);
          phase = next;
          log.push({ epoch: e.epoch, phase });
        }
      },
      state: () => ({ phase }),
      loadState: (s) => {
        phase = (s as { phase: string }).phase;
      },
    });
    const trainer = new Trainer({
      model: mnistMlp(1),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: tf.train.adam(0.01),
      plugins: [phases, ...extraPlugins],
      seed: 11,
      log: 'silent',
    });
    trainer.freeze('hidden/bias');
    return {
      trainer,
      data: train,
      fit: { epochs: 5, batchSize: 32, validationData: val },
      takeDecisions: log.take,
    };
  },
};

export default scenario;
