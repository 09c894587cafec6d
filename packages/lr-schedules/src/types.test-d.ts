import { definePlugin } from '@tensorloop/core';
import { expectTypeOf, test } from 'vitest';
import type { LrFinderApi, PlateauApi, ScheduleApi } from './index.js';
import './index.js';

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
