import { definePlugin, type Plugin, type PluginApiMap, type PluginStateMap, stop } from '@tensorloop/core';
import { cosine } from '@tensorloop/lr-schedules';
import { describe, expectTypeOf, test } from 'vitest';
import {
  type FinetuneSchedulerApi,
  type FinetuneSchedulerOptions,
  type FinetuneSchedulerState,
  type FinetuneTransitionEvent,
  finetuneScheduler,
  type Phase,
} from './index.js';

describe('finetuneScheduler types', () => {
  test('options: names and value types are checked', () => {
    finetuneScheduler();
    finetuneScheduler({
      schedule: {
        0: { params: ['out/.*'], maxTransitionEpoch: 2 },
        1: { params: ['dense/.*'], lr: 1e-4, newLrSchedule: cosine({ from: 1, to: 0.1 }) },
      },
      maxDepth: -1,
      baseMaxLr: 1e-5,
      restoreBest: true,
      genScheduleOnly: false,
      epochTransitionsOnly: false,
      earlyStopping: { monitor: 'val_loss', mode: 'min', patience: 3, minDelta: 0, checkFinite: true },
      frozenBatchNorm: 'track',
      logDir: false,
    });
    finetuneScheduler({ schedule: 'ft.yaml' });
    finetuneScheduler({
      schedule: [
        { params: ['out/kernel'] },
        { params: ['dense/.*'], newOptimizer: { type: 'adamw', weightDecay: 0.01 } },
      ],
    });
    // @ts-expect-error frozenBatchNorm is 'inference' | 'track'
    finetuneScheduler({ frozenBatchNorm: 'train' });
    // @ts-expect-error maxDepth, not max_depth
    finetuneScheduler({ max_depth: 1 });
    // @ts-expect-error params is a list
    finetuneScheduler({ schedule: { 0: { params: 'out/kernel' } } });
    // @ts-expect-error patience is a number
    finetuneScheduler({ earlyStopping: { patience: '3' } });
    expectTypeOf<FinetuneSchedulerOptions['restoreBest']>().toEqualTypeOf<boolean | undefined>();
  });

  test('the plugin registers its state, its API and the finetune:transition event', () => {
    expectTypeOf(finetuneScheduler()).toEqualTypeOf<Plugin<'@tensorloop/finetune-scheduler'>>();
    expectTypeOf<PluginStateMap['@tensorloop/finetune-scheduler']>().toEqualTypeOf<FinetuneSchedulerState>();
    expectTypeOf<PluginApiMap['@tensorloop/finetune-scheduler']>().toEqualTypeOf<FinetuneSchedulerApi>();
    definePlugin({
      name: 'watcher',
      onEpochStart(ctx) {
        const fts = ctx.plugin('@tensorloop/finetune-scheduler');
        expectTypeOf(fts.currDepth).toEqualTypeOf<number>();
        expectTypeOf(fts.depthRemaining).toEqualTypeOf<number>();
        expectTypeOf(fts.schedule).toEqualTypeOf<readonly Phase[] | undefined>();
      },
      'finetune:transition'(_ctx, event) {
        expectTypeOf(event).toEqualTypeOf<FinetuneTransitionEvent>();
        expectTypeOf(event.reason).toEqualTypeOf<'earlyStopping' | 'maxTransitionEpoch'>();
      },
    });
    definePlugin({
      name: 'stopper',
      // @ts-expect-error a custom event's handler may not return a signal
      'finetune:transition': () => stop('no'),
    });
    definePlugin({
      name: 'emitter',
      async onEpochStart(ctx) {
        // @ts-expect-error the event's fields are checked
        await ctx.emit('finetune:transition', { depth: 1 });
      },
    });
  });
});
