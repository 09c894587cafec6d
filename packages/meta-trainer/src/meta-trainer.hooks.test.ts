// The order of every event over a two-stage run, as a global plugin and as stage plugins see it.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { MetaTrainer } from './meta-trainer.js';
import { tasks, tinyTrainer, tracer } from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('hook order over two stages', () => {
  test('init evaluation, then per stage: start, fit, evaluation, end; stage plugins see only their stage', async () => {
    const log: string[] = [];
    const [a, b] = tasks(2);
    const trainer = tinyTrainer({ plugins: [tracer('g', log)] });
    const meta = new MetaTrainer(trainer, { stagePlugins: { 1: [tracer('s1', log)] } });
    await meta.run(
      [
        { name: 'A', data: a!, epochs: 2, batchSize: 20, plugins: [tracer('s0', log)] },
        { name: 'B', data: b!, epochs: 1, batchSize: 20 },
      ],
      { evaluate: { streams: { test: [a!, b!] }, at: 'init-and-each-stage' } },
    );
    // Two experiences: two trainer.evaluate() calls, each an onEvaluateStart and onEvaluateEnd round.
    const evaluation = (who: string[], stage: number) => [
      ...who.map((w) => `${w}:evalStart(${stage})`),
      ...[0, 1].flatMap(() => [
        ...who.map((w) => `${w}:evaluateStart`),
        ...who.map((w) => `${w}:evaluateEnd`),
      ]),
      ...who.map((w) => `${w}:evalEnd(${stage})`),
    ];
    expect(log).toEqual([
      ...evaluation(['g'], -1),
      'g:stageStart(0,A)',
      's0:stageStart(0,A)',
      'g:fitStart(0)',
      's0:fitStart(0)',
      'g:epochStart(0)',
      's0:epochStart(0)',
      'g:epochEnd(0)',
      's0:epochEnd(0)',
      'g:epochStart(1)',
      's0:epochStart(1)',
      'g:epochEnd(1)',
      's0:epochEnd(1)',
      'g:fitEnd(true)',
      's0:fitEnd(true)',
      ...evaluation(['g', 's0'], 0),
      'g:stageEnd(0,A)',
      's0:stageEnd(0,A)',
      'g:stageStart(1,B)',
      's1:stageStart(1,B)',
      'g:fitStart(1)',
      's1:fitStart(1)',
      'g:epochStart(2)',
      's1:epochStart(2)',
      'g:epochEnd(2)',
      's1:epochEnd(2)',
      'g:fitEnd(true)',
      's1:fitEnd(true)',
      ...evaluation(['g', 's1'], 1),
      'g:stageEnd(1,B)',
      's1:stageEnd(1,B)',
    ]);
    expect(trainer.plugins.map((p) => p.name)).toEqual(['g', '@tensorloop/meta-trainer']);
  });
});
