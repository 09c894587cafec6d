// Resume contract for @tensorloop/amp: dynamic loss scaling that backs off on injected overflows and
// grows after 5 finite steps, float16 emulation of the forward and backward pass (BatchNorm and
// softmax kept float32), tfjs Adam (positional slots, beta powers) on float32 masters. The step gate
// is the trainer's default ('host' on cpu and wasm) unless TL_CONTRACT_STEP_GATE says 'device'.
import * as tf from '@tensorflow/tfjs';
import { amp } from '@tensorloop/amp';
import { definePlugin, Trainer } from '@tensorloop/core';
import type { ContractScenario } from '@tensorloop/testkit';
import { decisionLog, mnistMlp, mnistSplit } from './common.js';

/** Global micro-batches whose gradients are made Infinity. */
const OVERFLOWS = [3, 4, 17, 31];

const scenario: ContractScenario = {
  async create(extraPlugins) {
    const { train, val } = mnistSplit();
    const log = decisionLog();
    const overflow = definePlugin({
      name: 'contract:overflow',
      transformGradients: (ctx, grads) =>
        OVERFLOWS.includes(ctx.time.batch)
          ? new Map([...grads].map(([k, g]) => [k, tf.mul(g, Number.POSITIVE_INFINITY)]))
          : grads,
    });
    const record = definePlugin({
      name: 'contract:scale',
      onEpochEnd: (ctx, e) =>
        void log.push({
          epoch: e.epoch,
          lossScale: e.logs.loss_scale,
          skipped: e.logs.skipped_steps,
          step: ctx.time.step,
        }),
    });
    const stepGate = process.env.TL_CONTRACT_STEP_GATE === 'device' ? 'device' : 'auto';
    const trainer = new Trainer({
      model: mnistMlp(7),
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: tf.train.adam(0.01),
      plugins: [
        amp({ precision: 'float16', initialScale: 2 ** 10, growthInterval: 5 }),
        overflow,
        record,
        ...extraPlugins,
      ],
      stepGate,
      seed: 11,
      log: 'silent',
    });
    return {
      trainer,
      data: train,
      fit: { epochs: 3, batchSize: 20, validationData: val },
      takeDecisions: log.take,
    };
  },
};

export default scenario;
