// Plugins that write the model's weights declare it; two at one point conflict (issue 22, point 6).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { TensorloopError } from './errors.js';
import { definePlugin, type Plugin, type WeightWritePoint } from './plugin.js';
import { tinyClassifier } from './test-helpers.js';
import { Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const writer = (
  name: string,
  writesWeights: WeightWritePoint | WeightWritePoint[],
  extra: Partial<Plugin> = {},
) => definePlugin({ name, writesWeights, ...extra });

const make = (plugins: Plugin[]) =>
  new Trainer({ model: tinyClassifier(), loss: 'mse', optimizer: 'sgd', plugins, log: 'silent' });

const refused = (run: () => unknown): TensorloopError => {
  try {
    run();
  } catch (error) {
    if (error instanceof TensorloopError) return error;
    throw error;
  }
  throw new Error('expected a TensorloopError');
};

describe('writesWeights', () => {
  test('two writers at one point are TL_PLUGIN_CONFLICT at construction, naming both and the fix', () => {
    const e = refused(() =>
      make([writer('restore-best', 'fitEnd'), writer('ema', ['validation', 'fitEnd'])]),
    );
    expect(e.code).toBe('TL_PLUGIN_CONFLICT');
    expect(e.plugin).toBe('ema');
    expect(e.message).toContain(`"restore-best" and "ema" both write the model's weights at fitEnd`);
    expect(e.message).toContain(`after: ['restore-best'] on "ema"`);
  });

  test.each([
    ['after', { after: ['restore-best'] }],
    ['before', { before: ['restore-best'] }],
    ['dependencies', { dependencies: ['restore-best'] }],
  ])('an order declared with %s resolves it; describe() lists the writers in order', (_, order) => {
    const t = make([writer('restore-best', 'fitEnd'), writer('ema', ['validation', 'fitEnd'], order)]);
    const text = t.describe();
    const first = t.plugins[0]!.name;
    const second = t.plugins[1]!.name;
    expect(text).toContain(`weight writers (later wins):\n  validation: ema\n  fitEnd: ${first} → ${second}`);
  });

  test('different points do not conflict', () => {
    expect(() => make([writer('a', 'epochEnd'), writer('b', 'fitEnd')])).not.toThrow();
  });

  test('a conflicting plugin added between fits is refused and nothing changes', () => {
    const t = make([writer('restore-best', 'fitEnd')]);
    const e = refused(() => t.addPlugins([writer('ema', 'fitEnd')]));
    expect(e.code).toBe('TL_PLUGIN_CONFLICT');
    expect(t.plugins.map((p) => p.name)).toEqual(['restore-best']);
  });

  test('an unknown point is refused', () => {
    const e = refused(() => make([writer('a', 'end' as WeightWritePoint)]));
    expect(e.code).toBe('TL_PLUGIN_INVALID');
    expect(e.message).toContain(
      'writesWeights must be one of fitStart, epochStart, step, validation, epochEnd, fitEnd',
    );
  });
});
