import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import type { TensorloopError } from '../errors.js';
import { definePlugin } from '../plugin.js';
import { classificationData, tinyClassifier } from '../test-helpers.js';
import { Trainer } from '../trainer.js';
import { AUTO_YIELD_MS, checkYieldOption, createYieldPolicy, type YieldOption } from './yield-policy.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** How many macrotasks (setImmediate callbacks chained one after another) ran during the first epoch. */
async function macrotasksDuringFirstEpoch(yieldOption: YieldOption): Promise<number> {
  let ran = 0;
  let running = true;
  let seen = -1;
  const tick = () => {
    if (!running) return;
    ran += 1;
    setImmediate(tick);
  };
  const probe = definePlugin({
    name: 'probe',
    onFitStart: () => {
      ran = 0;
      setImmediate(tick);
    },
    onEpochEnd: () => {
      if (seen < 0) seen = ran;
    },
  });
  const trainer = new Trainer({
    model: tinyClassifier(),
    loss: 'categoricalCrossentropy',
    optimizer: 'sgd',
    plugins: [probe],
    log: 'silent',
    yield: yieldOption,
  });
  await trainer.fit(classificationData(64), { epochs: 1, batchSize: 4 });
  running = false;
  return seen;
}

describe('yield policy', () => {
  test("'auto' yields every 16 ms in a browser and never in Node.js; 'never' never", () => {
    expect(createYieldPolicy('auto', false).everyMs).toBe(AUTO_YIELD_MS);
    expect(createYieldPolicy('auto', true).everyMs).toBeUndefined();
    expect(createYieldPolicy('auto').everyMs).toBeUndefined(); // this is Node.js
    expect(createYieldPolicy('never', false).everyMs).toBeUndefined();
    expect(createYieldPolicy({ everyMs: 5 }, true).everyMs).toBe(5);
  });

  test('a yield is due only once everyMs have passed since the last one', async () => {
    const policy = createYieldPolicy({ everyMs: 60_000 }, false);
    expect(policy.due()).toBeUndefined();
    const always = createYieldPolicy({ everyMs: 0 }, false);
    let macrotaskRan = false;
    // Queued before the yield's own macrotask (setImmediate in Node), so it runs first if the yield is one.
    setImmediate(() => {
      macrotaskRan = true;
    });
    await always.due();
    await always.due();
    expect(always.yields).toBe(2);
    expect(macrotaskRan).toBe(true); // a microtask would not have let it run
  });

  test('{ everyMs: 0 } lets macrotasks run between batches; the Node default does not', async () => {
    expect(await macrotasksDuringFirstEpoch({ everyMs: 0 })).toBeGreaterThanOrEqual(15); // 16 batches
    expect(await macrotasksDuringFirstEpoch('auto')).toBe(0);
  });

  test('a wrong value is refused with the accepted forms', () => {
    expect(checkYieldOption(undefined)).toBe('auto');
    for (const bad of ['sometimes', { everyMs: -1 }, { every: 5 }, 16]) {
      let error: TensorloopError | undefined;
      try {
        checkYieldOption(bad);
      } catch (e) {
        error = e as TensorloopError;
      }
      expect(error?.code).toBe('TL_OPTION_INVALID');
      expect(error?.message).toMatch(/'auto', 'never' or \{ everyMs/);
    }
    expect(
      () =>
        new Trainer({
          model: tinyClassifier(),
          loss: 'meanSquaredError',
          optimizer: 'sgd',
          yield: 'often' as never,
        }),
    ).toThrow(/yield must be/);
  });
});
