// Factories for @tensorloop/testkit whose options are functions (a schedule), which cannot travel
// to the kit's child processes as JSON: the child imports this module instead. It imports the
// built package by its name, as a user's module would.
import { cosine, schedule, warmup } from '@tensorloop/lr-schedules';

/** lr: a 2-step warmup into a cosine from 0.05 to 0.001, per optimizer step. */
export const warmupCosine = () => schedule({ fn: warmup(cosine({ from: 0.05, to: 0.001 }), { steps: 2 }) });

/** beta1 by epoch, a user of the hyperparameter store other than lr. */
export const beta1ByEpoch = () =>
  schedule({ hparam: 'beta1', every: 'epoch', fn: cosine({ from: 0.9, to: 0.8 }) });
