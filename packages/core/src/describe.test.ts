import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, test } from 'vitest';
import { definePlugin } from './plugin.js';
import { tinyClassifier } from './test-helpers.js';
import { Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test("a plugin's describe(ctx) gets its own context, before the first fit", () => {
  const model = tinyClassifier();
  const trainer = new Trainer({
    model,
    loss: 'categoricalCrossentropy',
    optimizer: tf.train.sgd(0.1),
    plugins: [
      definePlugin({
        name: 'plan',
        describe: (ctx) => [`${ctx?.self} sees ${ctx?.model.name} with ${ctx?.model.layers.length} layers`],
      }),
    ],
    log: 'silent',
  });
  expect(trainer.describe()).toContain(`plan sees ${model.name} with 2 layers`);
});
