// A plugin that forgets its counter on resume (no state()): the contract must catch it.
import * as tf from '@tensorflow/tfjs';
import { definePlugin, stop, Trainer } from '@tensorloop/core';
import type { ContractScenario } from '@tensorloop/testkit';
import { decisionLog, mnistMlp, mnistSplit } from './common.js';

const scenario: ContractScenario = {
  async create(extraPlugins) {
    const { train } = mnistSplit();
    const log = decisionLog();
    let seen = 0;
    const forgetful = definePlugin({
      name: 'contract:forgetful',
      onEpochEnd(_ctx, e) {
        seen += 1;
        if (seen === 3) {
          log.push({ stopAt: e.epoch });
          return stop('three epochs seen');
        }
      },
    });
    const trainer = new Trainer({
      model: mnistMlp(5),
      loss: 'categoricalCrossentropy',
      optimizer: tf.train.sgd(0.1),
      plugins: [forgetful, ...extraPlugins],
      log: 'silent',
    });
    return { trainer, data: train, fit: { epochs: 5, batchSize: 50 }, takeDecisions: log.take };
  },
};

export default scenario;
