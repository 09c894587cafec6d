import { definePlugin, type Plugin, type PluginApiMap, type PluginStateMap } from '@tensorloop/core';
import { describe, expectTypeOf, test } from 'vitest';
import { type ReportApi, type ReportHistory, type ReportOptions, type ReportState, report } from './index.js';

describe('report types', () => {
  test('options are checked', () => {
    report({ dir: 'out', title: 't', write: 'manual', hparams: ['lr'], messages: false, maxPoints: 100 });
    // @ts-expect-error write is 'fitEnd' or 'manual'
    report({ write: 'always' });
    // @ts-expect-error maxPoints is a number
    report({ maxPoints: '100' });
    expectTypeOf<ReportOptions['hparams']>().toEqualTypeOf<'all' | readonly string[] | undefined>();
  });

  test('named by its npm name; state and api registered; the record API on the plugin object', () => {
    const plugin = report();
    expectTypeOf(plugin.name).toEqualTypeOf<'@tensorloop/report'>();
    expectTypeOf<PluginStateMap['@tensorloop/report']>().toEqualTypeOf<ReportState>();
    expectTypeOf<PluginApiMap['@tensorloop/report']>().toEqualTypeOf<ReportApi>();
    expectTypeOf(plugin.history).returns.toEqualTypeOf<ReportHistory>();
    expectTypeOf(plugin.write).returns.resolves.toEqualTypeOf<{
      readonly html: string;
      readonly json: string;
    }>();
    definePlugin({
      name: 'reads-report',
      onFitEnd(ctx) {
        expectTypeOf(ctx.plugin('@tensorloop/report').history().epochs).toEqualTypeOf<
          ReportHistory['epochs']
        >();
      },
    });
  });

  test('still a Plugin while another package declares the events it listens to (test-helpers declares them)', () => {
    expectTypeOf(report()).toMatchTypeOf<Plugin>();
  });
});
