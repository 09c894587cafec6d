import { adam, Trainer } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import { oneCycle } from '@tensorloop/lr-schedules';
import type { DemoStep } from './step.js';

/** (b) The convnet on digits 0–4: one-cycle up to the lr from (a), early stopping with the best epoch restored. */
export const trainDigits: DemoStep = {
  id: 'train-0-4',
  title: '(b) train the convnet on digits 0–4 (one-cycle, early stopping)',
  async run(state) {
    const trainer = new Trainer({
      model: state.model,
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: adam({ lr: state.lr ?? 3e-3 }),
      plugins: [
        oneCycle({ maxLr: state.lr ?? 3e-3 }),
        earlyStopping({ monitor: 'val_loss', patience: 2, restoreBestWeights: true }),
        state.progress(),
        state.report,
      ],
      seed: 42,
      log: 'silent', // progress prints the plugins' messages
    });
    await trainer.fit(state.low.train, { epochs: 6, batchSize: 64, validationData: state.low.test });
    const { accuracy } = await trainer.evaluate(state.low.test, { batchSize: 256 });
    state.results['digits 0–4'] = accuracy!;
    state.say(`test accuracy on digits 0–4: ${(accuracy! * 100).toFixed(2)}%`);
  },
};
