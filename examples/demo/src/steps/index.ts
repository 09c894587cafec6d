import { continual } from './continual.js';
import { findLearningRate } from './find-lr.js';
import { finetune } from './finetune.js';
import type { DemoStep } from './step.js';
import { trainDigits } from './train-digits.js';

export type { DemoState, DemoStep } from './step.js';

/** The demo, in order. */
export const STEPS: readonly DemoStep[] = [findLearningRate, trainDigits, finetune, continual];
