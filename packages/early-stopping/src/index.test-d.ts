import { definePlugin, type Plugin, type PluginApiMap, type PluginStateMap } from '@tensorloop/core';
import { describe, expectTypeOf, test } from 'vitest';
import {
  type EarlyStoppingApi,
  type EarlyStoppingOptions,
  type EarlyStoppingState,
  earlyStopping,
} from './index.js';

describe('earlyStopping types', () => {
  test('options: names, value types and modes are checked', () => {
    earlyStopping();
    earlyStopping({
      monitor: 'val_accuracy',
      mode: 'max',
      minDelta: 0.001,
      patience: 5,
      counting: 'pytorch',
      baseline: 0.9,
      startFromEpoch: 2,
      restoreBestWeights: true,
      stoppingThreshold: 0.99,
      divergenceThreshold: 0.1,
      checkFinite: false,
      verbose: false,
      persistAcrossFits: true,
      maxStateBytes: Number.POSITIVE_INFINITY,
      name: 'early-stopping:acc',
    });
    // @ts-expect-error mode is 'auto' | 'min' | 'max'
    earlyStopping({ mode: 'up' });
    // @ts-expect-error patience is a number
    earlyStopping({ patience: '3' });
    // @ts-expect-error counting is 'keras' | 'pytorch'
    earlyStopping({ counting: 'torch' });
    // @ts-expect-error restoreBestWeights, not restore_best_weights
    earlyStopping({ restore_best_weights: true });
    expectTypeOf<EarlyStoppingOptions['baseline']>().toEqualTypeOf<number | undefined>();
  });

  test('the plugin is typed with its npm name, state and api', () => {
    const plugin = earlyStopping();
    expectTypeOf(plugin).toEqualTypeOf<Plugin<'@tensorloop/early-stopping'>>();
    expectTypeOf(plugin.state).toEqualTypeOf<(() => EarlyStoppingState) | undefined>();
    expectTypeOf(plugin.api).toEqualTypeOf<EarlyStoppingApi | undefined>();
  });

  test('augmentation: PluginStateMap and PluginApiMap know the plugin', () => {
    expectTypeOf<PluginStateMap['@tensorloop/early-stopping']>().toEqualTypeOf<EarlyStoppingState>();
    expectTypeOf<PluginApiMap['@tensorloop/early-stopping']>().toEqualTypeOf<EarlyStoppingApi>();
    definePlugin({
      name: 'reads-early-stopping',
      onEpochEnd(ctx) {
        const es = ctx.plugin('@tensorloop/early-stopping');
        expectTypeOf(es.best).toEqualTypeOf<number | undefined>();
        expectTypeOf(es.wait).toEqualTypeOf<number>();
        expectTypeOf(es.mode).toEqualTypeOf<'min' | 'max'>();
        // @ts-expect-error the api is read-only
        es.wait = 0;
      },
    });
  });

  test('a wrong state shape does not compile', () => {
    definePlugin({
      name: '@tensorloop/early-stopping',
      // @ts-expect-error wait must be a number
      state: () => ({
        monitor: 'val_loss',
        mode: 'min' as const,
        best: null,
        bestEpoch: null,
        wait: '1',
        origin: 0,
        stoppedEpoch: null,
        bestWeights: null,
        omittedBytes: null,
      }),
    });
    definePlugin({
      name: '@tensorloop/early-stopping',
      state: (): EarlyStoppingState => ({
        monitor: 'val_loss',
        mode: 'min',
        best: null,
        bestEpoch: null,
        wait: 1,
        origin: 0,
        stoppedEpoch: null,
        bestWeights: null,
        omittedBytes: null,
      }),
    });
    expectTypeOf<EarlyStoppingState['bestWeights']>().toMatchTypeOf<{ epoch: number } | null>();
  });
});
