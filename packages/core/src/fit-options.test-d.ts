// fit()'s model.fit options as types: tfjs callbacks infer their parameters, tfjs instances fit,
// verbose is 0 | 1 | 2, weight-writer points are checked.
import * as tf from '@tensorflow/tfjs';
import { describe, expectTypeOf, test } from 'vitest';
import { definePlugin, type FitOptions } from './index.js';

describe('fit options from model.fit', () => {
  test('callbacks: objects infer (epoch, logs); instances and lists are accepted', () => {
    const options: FitOptions = {
      epochs: 1,
      callbacks: {
        onEpochEnd(epoch, logs) {
          expectTypeOf(epoch).toEqualTypeOf<number>();
          expectTypeOf(logs).toEqualTypeOf<tf.Logs | undefined>();
        },
      },
    };
    void options;
    const instances: FitOptions = {
      epochs: 1,
      callbacks: [tf.callbacks.earlyStopping({ monitor: 'val_acc' }), new tf.CustomCallback({})],
    };
    void instances;
    // @ts-expect-error a bare function is not a tfjs callback
    const bad: FitOptions = { epochs: 1, callbacks: (epoch: number) => epoch };
    void bad;
  });

  test('verbose is tfjs’s 0, 1 or 2', () => {
    const ok: FitOptions = { epochs: 1, verbose: 2 };
    void ok;
    // @ts-expect-error 3 is not a verbosity
    const bad: FitOptions = { epochs: 1, verbose: 3 };
    void bad;
  });

  test('writesWeights takes the points of a fit', () => {
    definePlugin({ name: 'ok', writesWeights: ['validation', 'fitEnd'] });
    // @ts-expect-error 'end' is not a point
    definePlugin({ name: 'bad', writesWeights: 'end' });
  });
});
