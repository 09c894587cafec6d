import { definePlugin, type PluginApiMap } from '@tensorloop/core';
import { describe, expectTypeOf, test } from 'vitest';
import { type ProgressApi, type ProgressOptions, progress } from './index.js';

describe('progress types', () => {
  test('options are checked', () => {
    progress();
    progress({
      refreshMs: 500,
      tty: false,
      silent: false,
      messages: 'warn',
      hparams: ['lr', 'beta1'],
      barWidth: 30,
    });
    progress({ stream: { write: () => true, isTTY: true, columns: 100 } });
    // @ts-expect-error refreshMs is a number of milliseconds
    progress({ refreshMs: '250' });
    // @ts-expect-error tty is 'auto' or a boolean
    progress({ tty: 'always' });
    // @ts-expect-error refreshMs, not refresh_ms
    progress({ refresh_ms: 250 });
    expectTypeOf<ProgressOptions['messages']>().toEqualTypeOf<boolean | 'warn' | undefined>();
  });

  test('the plugin is named by its npm name and never asks for batch logs', () => {
    const plugin = progress();
    expectTypeOf(plugin.name).toEqualTypeOf<'@tensorloop/progress'>();
    expectTypeOf(plugin.api).toEqualTypeOf<ProgressApi>();
    expectTypeOf<PluginApiMap['@tensorloop/progress']>().toEqualTypeOf<ProgressApi>();
    definePlugin({
      name: 'reads-progress',
      onEpochEnd(ctx) {
        expectTypeOf(ctx.plugin('@tensorloop/progress').reads()).toEqualTypeOf<number>();
      },
    });
  });
});
