import type { DemoStep } from './step.js';

/**
 * (c) Finetune the 0–4 model on digits 5–9 with @tensorloop/finetune-scheduler: the head first,
 * then the conv blocks unfrozen phase by phase. The report draws each `finetune:transition` as a
 * boundary on every plot. Wire it in here when the package lands (`state.high` holds the digits).
 */
export const finetune: DemoStep = {
  id: 'finetune-5-9',
  title: '(c) finetune on digits 5–9, unfreezing phase by phase',
  pending: '@tensorloop/finetune-scheduler',
  async run() {},
};
