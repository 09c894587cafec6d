import type { Logs, PluginApiMap, PluginStateMap } from '@tensorloop/core';
import { describe, expectTypeOf, test } from 'vitest';
import {
  type AmpApi,
  type AmpOptions,
  type AmpState,
  amp,
  type Precision,
  roundToPrecision,
} from './index.js';

describe('amp types', () => {
  test('options: names and value types are checked', () => {
    amp();
    amp({
      lossScale: 'dynamic',
      initialScale: 2 ** 16,
      growthInterval: 1000,
      growthFactor: 2,
      backoffFactor: 0.5,
      minScale: 1,
      precision: 'bfloat16',
      keepFloat32: ['BatchNormalization', /^head/, 'softmax'],
      halfFloatTextures: false,
    });
    amp({ lossScale: 1024 });
    // @ts-expect-error lossScale is 'dynamic' or a number
    amp({ lossScale: 'static' });
    // @ts-expect-error precision is 'float32' | 'float16' | 'bfloat16'
    amp({ precision: 'half' });
    // @ts-expect-error initialScale, not init_scale
    amp({ init_scale: 2 });
    // @ts-expect-error keepFloat32 holds strings and RegExps
    amp({ keepFloat32: [1] });
    expectTypeOf<AmpOptions['precision']>().toEqualTypeOf<Precision | undefined>();
  });

  test('the plugin is named by its package; its state, API and log keys reach the core types', () => {
    expectTypeOf(amp().name).toEqualTypeOf<'@tensorloop/amp'>();
    expectTypeOf<PluginStateMap['@tensorloop/amp']>().toEqualTypeOf<AmpState>();
    expectTypeOf<PluginApiMap['@tensorloop/amp']>().toEqualTypeOf<AmpApi>();
    expectTypeOf<Logs['loss_scale']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<Logs['skipped_steps']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<AmpApi['lossScale']>().toEqualTypeOf<number>();
  });

  test('roundToPrecision keeps the tensor type', () => {
    expectTypeOf(roundToPrecision<import('@tensorflow/tfjs').Tensor2D>).returns.toEqualTypeOf<
      import('@tensorflow/tfjs').Tensor2D
    >();
  });
});
