// What the size is measured for: core's Trainer and checkpoint storage, early stopping, one-cycle.
import { checkpoint, listCheckpoints, Trainer } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import { oneCycle } from '@tensorloop/lr-schedules';

export { checkpoint, earlyStopping, listCheckpoints, oneCycle, Trainer };
