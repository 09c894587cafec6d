import type * as tf from '@tensorflow/tfjs';
import { describe, expectTypeOf, test } from 'vitest';
import {
  definePlugin,
  type EpochEndEvent,
  type Plugin,
  type PluginApiMap,
  type TrainerContext,
} from './index.js';
import { skipBatch, stop, stopEpoch } from './signals.js';

declare module './plugin.js' {
  interface PluginStateMap {
    'test:counter': { count: number };
  }
  interface PluginApiMap {
    'test:counter': { current(): number };
  }
  interface HookEvents {
    'test:tick': { n: number };
  }
  interface Logs {
    lr?: number;
  }
}

describe('plugin API types', () => {
  test('hooks get (ctx, typed event)', () => {
    definePlugin({
      name: 'a',
      onEpochEnd(ctx, event) {
        expectTypeOf(ctx).toEqualTypeOf<TrainerContext>();
        expectTypeOf(event).toEqualTypeOf<EpochEndEvent>();
        expectTypeOf(event.logs.loss).toEqualTypeOf<number | undefined>();
        expectTypeOf(event.logs.lr).toEqualTypeOf<number | undefined>();
      },
    });
  });

  test('signals only where the hook can honour them', () => {
    definePlugin({ name: 'ok1', onEpochEnd: () => stop('x') });
    definePlugin({ name: 'ok2', onBatchStart: () => skipBatch('x') });
    definePlugin({ name: 'ok3', onBatchEnd: async () => stopEpoch('x') });
    definePlugin({ name: 'ok4', onFitEnd: () => {} });
    definePlugin({ name: 'ok5', onFitEnd: async () => {} });
    // @ts-expect-error onFitEnd cannot stop anything
    definePlugin({ name: 'bad1', onFitEnd: () => stop('x') });
    // @ts-expect-error skipBatch makes no sense at epoch end
    definePlugin({ name: 'bad2', onEpochEnd: () => skipBatch('x') });
    // @ts-expect-error stopEpoch cannot be honoured after validation
    definePlugin({ name: 'bad3', onValidationEnd: async () => stopEpoch('x') });
    // @ts-expect-error a random object is not a signal
    definePlugin({ name: 'bad4', onEpochEnd: () => ({ stop: true }) });
  });

  test('a typo in a hook name fails to compile', () => {
    // @ts-expect-error onEpochEnded is not a hook
    definePlugin({ name: 'typo', onEpochEnded: () => {} });
  });

  test('registered state shapes are enforced', () => {
    definePlugin({
      name: 'test:counter',
      state: () => ({ count: 1 }),
      loadState: (s) => expectTypeOf(s.count).toBeNumber(),
    });
    // @ts-expect-error wrong state shape for a registered plugin
    definePlugin({ name: 'test:counter', state: () => ({ count: 'one' }) });
    // Unregistered plugins may keep any JSON state.
    definePlugin({ name: 'free', state: () => ({ anything: [1, 'two'] }) });
  });

  test('ctx.plugin and ctx.emit are typed by augmentation', () => {
    definePlugin({
      name: 'user',
      async onFitStart(ctx) {
        expectTypeOf(ctx.plugin('test:counter')).toEqualTypeOf<PluginApiMap['test:counter']>();
        expectTypeOf(ctx.plugin('test:counter').current()).toBeNumber();
        // @ts-expect-error unknown plugin name
        ctx.plugin('nope');
        await ctx.emit('test:tick', { n: 1 });
        // @ts-expect-error wrong payload
        await ctx.emit('test:tick', { n: 'one' });
        // @ts-expect-error core events are fired by the trainer only
        await ctx.emit('onEpochEnd', {} as EpochEndEvent);
      },
      'test:tick': (_ctx, event) => {
        expectTypeOf(event.n).toBeNumber();
      },
    });
  });

  test('step transforms are synchronous and typed', () => {
    definePlugin({
      name: 'scale',
      transformLoss: (_ctx, loss) => {
        expectTypeOf(loss).toEqualTypeOf<tf.Scalar>();
        return loss;
      },
      transformGradients: (_ctx, grads) => grads,
    });
    // @ts-expect-error transformLoss must return the loss synchronously
    definePlugin({ name: 'async', transformLoss: async (_ctx, loss) => loss });
  });

  test('concrete plugins fit in Plugin[]', () => {
    const p = definePlugin({ name: 'test:counter', state: () => ({ count: 1 }) });
    const list: Plugin[] = [p, definePlugin({ name: 'other' })];
    expectTypeOf(list).toEqualTypeOf<Plugin[]>();
  });
});

describe('step hooks are synchronous', () => {
  test('an async afterOptimizerStep or transform is a compile error; a plain one is fine', () => {
    definePlugin({ name: 'ok', afterOptimizerStep: () => {}, transformLoss: (_c, loss) => loss });
    // @ts-expect-error afterOptimizerStep returns nothing: an async handler would not be awaited
    definePlugin({ name: 'a', afterOptimizerStep: async () => {} });
    // @ts-expect-error a transform must return the loss itself, not a Promise of it
    definePlugin({ name: 'b', transformLoss: async (_c, loss) => loss });
  });
});
