import { adam, Trainer } from '@tensorloop/core';
import { finetuneScheduler, generateSchedule } from '@tensorloop/finetune-scheduler';
import type { DemoStep } from './step.js';

/**
 * (c) Finetune the 0–4 model on digits 5–9 with @tensorloop/finetune-scheduler: the implicit
 * schedule (head first, then conv2, then conv1), one phase per epoch here to keep the demo short.
 * The report draws each `finetune:transition` as a boundary on every plot.
 */
export const finetune: DemoStep = {
  id: 'finetune-5-9',
  title: '(c) finetune on digits 5–9, unfreezing phase by phase',
  async run(state) {
    const phases = Object.values(generateSchedule(state.model));
    const schedule = phases.map((p, i) => (i < phases.length - 1 ? { ...p, maxTransitionEpoch: i + 1 } : p));
    const trainer = new Trainer({
      model: state.model,
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      optimizer: adam({ lr: 2e-3 }), // phase 0: the head alone
      plugins: [
        finetuneScheduler({ schedule, epochTransitionsOnly: true, baseMaxLr: 5e-4, logDir: false }),
        state.progress(),
        state.report,
      ],
      seed: 42,
      log: 'silent', // progress prints the plugins' messages
    });
    await trainer.fit(state.high.train, {
      epochs: phases.length,
      batchSize: 64,
      validationData: state.high.test,
    });
    const { accuracy } = await trainer.evaluate(state.high.test, { batchSize: 256 });
    state.results['digits 5–9'] = accuracy!;
    state.say(`test accuracy on digits 5–9 after finetuning: ${(accuracy! * 100).toFixed(2)}%`);
  },
};
