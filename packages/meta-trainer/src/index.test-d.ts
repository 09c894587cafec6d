import * as tf from '@tensorflow/tfjs';
import {
  definePlugin,
  type Plugin,
  type PluginApiMap,
  type PluginStateMap,
  type Trainer,
} from '@tensorloop/core';
import { describe, expectTypeOf, test } from 'vitest';
import {
  type AccuracyMatrix,
  type FreezeExceptState,
  freezeExcept,
  type MetaTrainer,
  type MetaTrainerApi,
  type MetaTrainerState,
  type StageEndEvent,
  type StageSpec,
  type StageStartEvent,
} from './index.js';

declare const meta: MetaTrainer;
declare const trainer: Trainer;
declare const data: { x: tf.Tensor; y: tf.Tensor };

describe('meta-trainer types', () => {
  test('meta events are typed hooks of any plugin (core augmentation)', () => {
    definePlugin({
      name: 'report',
      'meta:stageStart': (_ctx, e) => {
        expectTypeOf(e).toEqualTypeOf<StageStartEvent>();
        expectTypeOf(e.stage).toEqualTypeOf<number>();
      },
      'meta:stageEnd': (_ctx, e) => {
        expectTypeOf(e).toEqualTypeOf<StageEndEvent>();
      },
      'meta:evalEnd': (_ctx, e) => {
        expectTypeOf(e.matrices).toEqualTypeOf<readonly AccuracyMatrix[]>();
        expectTypeOf(e.metrics).toEqualTypeOf<Readonly<Record<string, number>>>();
      },
    });
    // @ts-expect-error meta:stageStart may not return a signal
    definePlugin({ name: 'x', 'meta:stageStart': () => ({ signal: 'stop', reason: 'no' }) as const });
    // @ts-expect-error no such meta event
    definePlugin({ name: 'y', 'meta:stageBegin': () => {} });
  });

  test('the api, its stopRun signal, and the state types', () => {
    expectTypeOf<PluginApiMap['@tensorloop/meta-trainer']>().toEqualTypeOf<MetaTrainerApi>();
    expectTypeOf<PluginStateMap['@tensorloop/meta-trainer']>().toEqualTypeOf<MetaTrainerState>();
    expectTypeOf<
      PluginStateMap['@tensorloop/meta-trainer:freeze-except']
    >().toEqualTypeOf<FreezeExceptState>();
    definePlugin({
      name: 'guard',
      onEpochEnd: (ctx) => ctx.plugin('@tensorloop/meta-trainer').stopRun('diverged'),
    });
    expectTypeOf(freezeExcept(/^classifier\//)).toEqualTypeOf<
      Plugin<'@tensorloop/meta-trainer:freeze-except'>
    >();
  });

  test('stages: data and epochs required, optimizer choices checked', () => {
    const ok: StageSpec[] = [
      { data, epochs: 2 },
      { name: 'b', data, epochs: 1, optimizer: 'new', batchSize: 8, validationData: data },
      { data, epochs: 1, optimizer: tf.train.adam(), plugins: [freezeExcept('classifier')] },
    ];
    void meta.run(ok, { evaluate: { streams: { test: [data] }, at: 'init-and-each-stage' } });
    // @ts-expect-error epochs is required
    void meta.run([{ data }]);
    // @ts-expect-error 'fresh' is not an optimizer choice
    void meta.run([{ data, epochs: 1, optimizer: 'fresh' }]);
    // @ts-expect-error resumeFrom belongs to run(), not to a stage
    void meta.run([{ data, epochs: 1, resumeFrom: 'ckpt' }]);
    // @ts-expect-error at is 'each-stage' | 'init-and-each-stage'
    void meta.run(ok, { evaluate: { streams: {}, at: 'always' } });
    void meta.fit(data, { epochs: 1, optimizer: 'reuse', name: 'first' });
    expectTypeOf(meta.trainer).toEqualTypeOf<Trainer>();
    expectTypeOf(meta.stage).toEqualTypeOf<number>();
    void trainer;
  });
});
