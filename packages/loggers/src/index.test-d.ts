import { definePlugin, type Plugin, type PluginApiMap, type PluginStateMap } from '@tensorloop/core';
import { describe, expectTypeOf, test } from 'vitest';
import {
  type CsvLoggerApi,
  type CsvPosition,
  csvLogger,
  defineLogger,
  jsonLines,
  type LoggerEpoch,
  type LoggerState,
  type TensorBoardApi,
  type TensorBoardPosition,
  tensorBoard,
} from './index.js';

describe('loggers types', () => {
  test('options are checked', () => {
    tensorBoard({
      logDir: 'tb',
      updateFreq: 10,
      histograms: { every: 2, match: /kernel/ },
      hparams: 'all',
      text: false,
    });
    csvLogger({ path: 'a.csv', append: true, separator: ';', hparams: ['lr'] });
    jsonLines({ path: 'a.jsonl', timestamps: false });
    // @ts-expect-error updateFreq is 'epoch' or a number
    tensorBoard({ logDir: 'tb', updateFreq: 'batch' });
    // @ts-expect-error logDir, not log_dir
    tensorBoard({ log_dir: 'tb' });
    // @ts-expect-error path is required
    csvLogger({ append: true });
  });

  test('plugins are typed with their names, state and api', () => {
    expectTypeOf(tensorBoard({ logDir: 'tb' })).toEqualTypeOf<Plugin<'@tensorloop/loggers:tensorboard'>>();
    expectTypeOf<PluginStateMap['@tensorloop/loggers:csv']>().toEqualTypeOf<LoggerState<CsvPosition>>();
    expectTypeOf<PluginStateMap['@tensorloop/loggers:tensorboard']>().toEqualTypeOf<
      LoggerState<TensorBoardPosition>
    >();
    expectTypeOf<PluginApiMap['@tensorloop/loggers:tensorboard']>().toEqualTypeOf<TensorBoardApi>();
    definePlugin({
      name: 'reader',
      onFitEnd(ctx) {
        expectTypeOf(ctx.plugin('@tensorloop/loggers:csv')).toEqualTypeOf<CsvLoggerApi>();
        expectTypeOf(ctx.plugin('@tensorloop/loggers:csv').rows).toEqualTypeOf<number>();
        expectTypeOf(ctx.plugin('@tensorloop/loggers:jsonl').failure).toEqualTypeOf<string | undefined>();
      },
    });
  });

  test('defineLogger: the saved state has the shape state() returns', () => {
    defineLogger({
      name: 'acme',
      state: () => ({ runId: 'abc' }),
      onStart(_ctx, start) {
        expectTypeOf(start.saved).toEqualTypeOf<{ runId: string } | undefined>();
      },
      onEpoch(_ctx, e) {
        expectTypeOf(e).toEqualTypeOf<LoggerEpoch>();
        expectTypeOf(e.train.loss).toEqualTypeOf<number | undefined>();
      },
    });
    // @ts-expect-error onEpochs is not a logger callback
    defineLogger({ name: 'typo', onEpochs() {} });
    // @ts-expect-error state must be JSON
    defineLogger({ name: 'bad-state', state: () => ({ when: new Date() }) });
  });
});
