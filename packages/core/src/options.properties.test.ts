// Property tests (issue 20): every Trainer, fit and evaluate option set to junk is accepted or refused
// with a coded TensorloopError naming the option — never a TypeError or a tfjs internal error.
import * as tf from '@tensorflow/tfjs';
import {
  acceptsOrRefusesClearly,
  acceptsOrRefusesClearlyAsync,
  junk,
  PROPERTY_RUNS,
  validOptionKeys,
} from '@tensorloop/test-fixtures';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkFitOptionKeys } from './model-fit-compat.js';
import { definePlugin } from './plugin.js';
import { stop } from './signals.js';
import { tinyClassifier } from './test-helpers.js';
import { Trainer, type TrainerOptions } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const model = tinyClassifier();
const data = { x: tf.zeros([4, 4]), y: tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3) };
afterAll(() => tf.dispose([data.x, data.y]));

const base = (): TrainerOptions => ({
  model,
  loss: 'categoricalCrossentropy',
  optimizer: tf.train.sgd(0.1),
  log: 'silent',
});

// Stops every fit at its start: an accepted option costs no training step.
const stopAtStart = definePlugin({ name: 'test:stop-at-start', onFitStart: () => stop('property test') });

describe('new Trainer(options)', () => {
  const keys = validOptionKeys((o) => new Trainer({ ...base(), ...o } as TrainerOptions));

  test('each option set to junk: accepted, or refused naming it', () => {
    expect(keys).toContain('smoothing');
    fc.assert(
      fc.property(fc.constantFrom(...keys), junk, (key, value) => {
        acceptsOrRefusesClearly(() => new Trainer({ ...base(), [key]: value } as TrainerOptions), [key]);
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });

  test('options that are not an object', () => {
    fc.assert(
      fc.property(junk, (value) => {
        acceptsOrRefusesClearly(() => new Trainer(value as TrainerOptions), ['options', 'model']);
      }),
      { numRuns: 40 },
    );
  });

  test('gradientClip with junk inside', () => {
    fc.assert(
      fc.property(fc.constantFrom('maxNorm', 'maxValue', 'other'), junk, (key, value) => {
        acceptsOrRefusesClearly(
          () => new Trainer({ ...base(), gradientClip: { [key]: value } } as TrainerOptions),
          ['gradientClip'],
        );
      }),
      { numRuns: 60 },
    );
  });
});

describe('trainer.fit(data, options) and trainer.evaluate(data, options)', () => {
  const trainer = new Trainer({ ...base(), plugins: [stopAtStart] });
  const fitKeys = validOptionKeys((o) => checkFitOptionKeys(o));
  test('each fit option set to junk: accepted, or refused naming it', async () => {
    expect(fitKeys).toContain('epochs');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...fitKeys.filter((k) => k !== 'validationData')),
        junk,
        async (key, value) => {
          // A string resumeFrom is a path: its error names the path and the checkpoint it expected.
          const mentions = key === 'resumeFrom' ? [key, 'checkpoint'] : [key];
          await acceptsOrRefusesClearlyAsync(
            () => trainer.fit(data, { epochs: 1, [key]: value } as never),
            mentions,
          );
        },
      ),
      { numRuns: PROPERTY_RUNS },
    );
  });

  test('fit options that are not an object', async () => {
    await fc.assert(
      fc.asyncProperty(junk, async (value) => {
        await acceptsOrRefusesClearlyAsync(() => trainer.fit(data, value as never), ['fit', 'epochs']);
      }),
      { numRuns: 40 },
    );
  });

  test('evaluate options', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('batchSize', 'other'), junk, async (key, value) => {
        await acceptsOrRefusesClearlyAsync(() => trainer.evaluate(data, { [key]: value } as never), [key]);
      }),
      { numRuns: 40 },
    );
  });
});
