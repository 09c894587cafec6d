// Property tests (issue 20): freezeExcept() options and state, and MetaTrainer options, set to junk,
// are accepted or refused with a coded TensorloopError naming the option — never a TypeError.
import * as tf from '@tensorflow/tfjs';
import { Trainer } from '@tensorloop/core';
import { acceptsOrRefusesClearly, junk, PROPERTY_RUNS } from '@tensorloop/test-fixtures';
import fc from 'fast-check';
import { beforeAll, describe, test } from 'vitest';
import { freezeExcept } from './freeze-except.js';
import { MetaTrainer } from './meta-trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('meta-trainer options', () => {
  test('freezeExcept(keep, options) and its saved state', () => {
    fc.assert(
      fc.property(junk, fc.constantFrom('name', 'restore'), junk, (keep, key, value) => {
        acceptsOrRefusesClearly(
          () => freezeExcept(keep as never, { [key]: value } as never),
          ['freezeExcept', 'pattern', key],
        );
        const plugin = freezeExcept(/^head\//);
        acceptsOrRefusesClearly(() => plugin.parseState?.(value, '0.0.0'));
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });

  test('new MetaTrainer(trainer, options)', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
    fc.assert(
      fc.property(fc.constantFrom('stagePlugins', 'evaluate', 'other'), junk, (key, value) => {
        const trainer = new Trainer({ model, loss: 'mse', optimizer: 'sgd', log: 'silent' });
        acceptsOrRefusesClearly(
          () => new MetaTrainer(trainer, { [key]: value } as never),
          [key, 'MetaTrainer'],
        );
      }),
      { numRuns: 80 },
    );
  });
});
