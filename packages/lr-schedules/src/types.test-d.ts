import { definePlugin, type MetricSpec } from '@tensorloop/core';
import { expectTypeOf, test } from 'vitest';
import { type LrFinderApi, oneCycle, type PlateauApi, reduceOnPlateau, type ScheduleApi } from './index.js';

test('ctx.plugin() resolves the APIs this package adds', () => {
  definePlugin({
    name: 'reader',
    onEpochEnd(ctx) {
      expectTypeOf(ctx.plugin('@tensorloop/lr-schedules:plateau')).toEqualTypeOf<PlateauApi>();
      expectTypeOf(ctx.plugin('@tensorloop/lr-schedules:one-cycle')).toEqualTypeOf<ScheduleApi>();
      expectTypeOf(
        ctx.plugin('@tensorloop/lr-schedules:schedule(lossWeight.main)'),
      ).toEqualTypeOf<ScheduleApi>();
      expectTypeOf(ctx.plugin('@tensorloop/lr-schedules:lr-finder')).toEqualTypeOf<LrFinderApi>();
      expectTypeOf(ctx.plugin('@tensorloop/lr-schedules:plateau').factor).toEqualTypeOf<
        (group?: string) => number
      >();
    },
  });
});

test('a plateau state of the wrong shape is a type error', () => {
  definePlugin({
    name: '@tensorloop/lr-schedules:plateau',
    // @ts-expect-error best must be number | null
    state: () => ({ best: 'x', badEpochs: 0, cooldownLeft: 0, factors: {}, reductions: [] }),
  });
});

test('options added for issue 12 are typed', () => {
  reduceOnPlateau({ counting: 'pytorch', persistAcrossFits: true, patience: 3 });
  // @ts-expect-error counting is 'keras' | 'pytorch'
  reduceOnPlateau({ counting: 'torch' });
  oneCycle({ maxLr: 0.1, threePhase: true });
  // @ts-expect-error threePhase, not three_phase
  oneCycle({ maxLr: 0.1, three_phase: true });
  const metric: MetricSpec = { name: 'auc', fn: (t) => t, direction: 'max' };
  expectTypeOf(metric).toMatchTypeOf<MetricSpec>();
  // @ts-expect-error direction is 'min' | 'max'
  const bad: MetricSpec = { name: 'auc', fn: (t) => t, direction: 'up' };
  void bad;
});
