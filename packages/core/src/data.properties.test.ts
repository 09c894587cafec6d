// Property tests (issue 20) for the data adapters: random shapes, dtypes, empty data, ragged
// batches, NaN/Infinity, labels out of range for the loss and x/y length mismatches. Every fit either
// trains (and then the data was valid) or fails with a coded TensorloopError before a bad step —
// never a tfjs internal error, and no tensor is left behind.
import * as tf from '@tensorflow/tfjs';
import { acceptsOrRefusesClearlyAsync } from '@tensorloop/test-fixtures';
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import type { DataInput } from './data.js';
import type { LossName } from './losses.js';
import { tinyClassifier } from './test-helpers.js';
import { Trainer } from './trainer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CLASSES = 3;
const FEATURES = 4;
const LOSSES = [
  'categoricalCrossentropy',
  'sparseCategoricalCrossentropy',
  'binaryCrossentropy',
  'mse',
] as const;

/** A description of data, turned into tensors inside the property (so shrinking stays cheap). */
interface DataPlan {
  readonly loss: (typeof LOSSES)[number];
  readonly n: number;
  readonly ny: number;
  readonly xShape: readonly number[];
  readonly xDtype: 'float32' | 'int32' | 'bool' | 'string';
  readonly yKind: 'valid' | 'indices' | 'wide' | 'rank3';
  readonly labelOffset: number;
  readonly poison: 'none' | 'xNaN' | 'xInf' | 'yNaN';
  readonly form: 'tensors' | 'batches';
  readonly raggedBatch: boolean;
}

const plan: fc.Arbitrary<DataPlan> = fc
  .record({
    loss: fc.constantFrom(...LOSSES),
    n: fc.integer({ min: 0, max: 6 }),
    ny: fc.integer({ min: -1, max: 1 }),
    xShape: fc.oneof(
      { weight: 4, arbitrary: fc.constant([FEATURES]) },
      fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 2 }),
    ),
    xDtype: fc.oneof(
      { weight: 6, arbitrary: fc.constant('float32' as const) },
      fc.constantFrom('int32' as const, 'bool' as const, 'string' as const),
    ),
    yKind: fc.oneof(
      { weight: 4, arbitrary: fc.constant('valid' as const) },
      fc.constantFrom('indices' as const, 'wide' as const, 'rank3' as const),
    ),
    labelOffset: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, fc.constantFrom(-1, 1, 0.5, 2)),
    poison: fc.oneof(
      { weight: 3, arbitrary: fc.constant('none' as const) },
      fc.constantFrom('xNaN' as const, 'xInf' as const, 'yNaN' as const),
    ),
    form: fc.constantFrom('tensors' as const, 'batches' as const),
    raggedBatch: fc.boolean(),
  })
  .map((p) => ({ ...p, ny: Math.max(0, p.n + p.ny) }));

function xTensor(p: DataPlan, n: number, shape: readonly number[]): tf.Tensor {
  const size = n * shape.reduce((a, d) => a * d, 1);
  if (p.xDtype === 'string')
    return tf.tensor(
      Array.from({ length: size }, () => 'a'),
      [n, ...shape],
      'string',
    );
  const values = Array.from({ length: size }, (_, i) => (i % 5) / 5);
  if (size > 0 && p.poison === 'xNaN') values[0] = Number.NaN;
  if (size > 0 && p.poison === 'xInf') values[0] = Number.POSITIVE_INFINITY;
  return tf.tensor(values, [n, ...shape], p.xDtype === 'float32' ? 'float32' : p.xDtype);
}

function yTensor(p: DataPlan, n: number): tf.Tensor {
  const classOf = (i: number) => i % CLASSES;
  const sparse = p.loss === 'sparseCategoricalCrossentropy';
  const poison = (values: number[]) => {
    if (p.poison === 'yNaN' && values.length > 0) values[0] = Number.NaN;
    return values;
  };
  if ((sparse && p.yKind === 'valid') || p.yKind === 'indices') {
    return tf.tensor1d(poison(Array.from({ length: n }, (_, i) => classOf(i) + p.labelOffset)));
  }
  if (p.yKind === 'rank3') return tf.tensor3d(poison(new Array(n * CLASSES).fill(0)), [n, CLASSES, 1]);
  const width = p.yKind === 'wide' ? CLASSES + 1 : CLASSES;
  const values = Array.from(
    { length: n * width },
    (_, i) => (i % width === classOf(Math.floor(i / width)) ? 1 : 0) + p.labelOffset,
  );
  return tf.tensor2d(poison(values), [n, width]);
}

/** What the data adapters must accept; everything else must be refused before a step. */
function isValid(p: DataPlan): boolean {
  const sparse = p.loss === 'sparseCategoricalCrossentropy';
  const shapeOk = p.xShape.length === 1 && p.xShape[0] === FEATURES;
  const yShapeOk = sparse ? p.yKind === 'valid' || p.yKind === 'indices' : p.yKind === 'valid';
  const labels = Array.from({ length: p.n }, (_, i) => (i % CLASSES) + p.labelOffset);
  const rangeOk =
    p.loss === 'mse' ||
    p.labelOffset === 0 ||
    (sparse && labels.every((l) => Number.isInteger(l) && l >= 0 && l < CLASSES));
  const batchesOk = p.form === 'tensors' || !p.raggedBatch;
  // int32 and bool tensors cannot hold NaN: poisoning them makes a 0 or a true.
  const finite = p.poison === 'none' || (p.poison !== 'yNaN' && p.xDtype !== 'float32');
  return (
    p.n > 0 && p.ny === p.n && shapeOk && p.xDtype !== 'string' && yShapeOk && rangeOk && finite && batchesOk
  );
}

function build(p: DataPlan): { data: DataInput; owned: tf.Tensor[] } {
  if (p.form === 'tensors') {
    const x = xTensor(p, p.n, p.xShape);
    const y = yTensor(p, p.ny);
    return { data: { x, y }, owned: [x, y] };
  }
  const first = { x: xTensor(p, p.n, p.xShape), y: yTensor(p, p.ny) };
  const ragged = p.raggedBatch ? [FEATURES + 1] : p.xShape;
  const second = { x: xTensor(p, p.n, ragged), y: yTensor(p, p.ny) };
  return { data: [first, second], owned: [first.x, first.y, second.x, second.y] };
}

const trainers = new Map<LossName, Trainer>();
async function trainerFor(loss: LossName): Promise<Trainer> {
  let t = trainers.get(loss);
  if (!t) {
    t = new Trainer({ model: tinyClassifier(), loss, optimizer: tf.train.sgd(0.01), log: 'silent' });
    // One fit first, so what a trainer keeps after its first fit is not counted as a leak.
    const x = tf.zeros([2, FEATURES]);
    const y = loss === 'sparseCategoricalCrossentropy' ? tf.tensor1d([0, 1]) : tf.zeros([2, CLASSES]);
    await t.fit({ x, y }, { epochs: 1 });
    tf.dispose([x, y]);
    trainers.set(loss, t);
  }
  return t;
}

describe('fit() on generated data', () => {
  test('valid data trains; anything else is refused with a code before a step, and nothing leaks', async () => {
    await fc.assert(
      fc.asyncProperty(plan, async (p) => {
        const trainer = await trainerFor(p.loss);
        const { data, owned } = build(p);
        const before = tf.memory().numTensors;
        const stepsBefore = trainer.time.step;
        try {
          const error = await acceptsOrRefusesClearlyAsync(() =>
            trainer.fit(data, { epochs: 1, batchSize: 4 }),
          );
          if (error === undefined && !isValid(p))
            throw new Error(`invalid data was accepted: ${JSON.stringify(p)}`);
          if (error !== undefined && isValid(p)) throw new Error(`valid data was refused: ${error.message}`);
          // A refusal comes before a bad step: a ragged second batch may follow one good step.
          if (error !== undefined && !(p.form === 'batches' && p.raggedBatch)) {
            expect(trainer.time.step).toBe(stepsBefore);
          }
          expect(tf.memory().numTensors).toBe(before);
        } finally {
          tf.dispose(owned);
        }
      }),
      { numRuns: 120 },
    );
  });
});

describe('what the properties found, pinned as examples', () => {
  const fitError = async (loss: LossName, data: DataInput) =>
    acceptsOrRefusesClearlyAsync(() =>
      new Trainer({ model: tinyClassifier(), loss, log: 'silent', optimizer: 'sgd' }).fit(data, {
        epochs: 1,
        batchSize: 4,
      }),
    );

  test('a class index ≥ the number of outputs is refused (was: trained on an all-zero one-hot row)', async () => {
    const x = tf.zeros([4, FEATURES]);
    const y = tf.tensor1d([0, 1, 2, 3]);
    const error = await fitError('sparseCategoricalCrossentropy', { x, y });
    expect(error?.code).toBe('TL_DATA_INVALID');
    expect(error?.message).toContain('integers in [0, 2]');
    tf.dispose([x, y]);
  });

  test('a negative one-hot label is refused (was: trained toward a negative loss)', async () => {
    const x = tf.zeros([2, FEATURES]);
    const y = tf.tensor2d([-1, 0, 2, 0, 1, 0], [2, 3]);
    const error = await fitError('categoricalCrossentropy', { x, y });
    expect(error?.code).toBe('TL_DATA_INVALID');
    expect(error?.message).toContain('probabilities in [0, 1]');
    tf.dispose([x, y]);
  });

  test('a ragged batch mid-epoch is refused with its index (was: TL_HOOK_FAILED wrapping a tfjs error from the step)', async () => {
    const good = { x: tf.zeros([2, FEATURES]), y: tf.zeros([2, CLASSES]) };
    const ragged = { x: tf.zeros([2, FEATURES + 1]), y: tf.zeros([2, CLASSES]) };
    const error = await fitError('categoricalCrossentropy', [good, ragged]);
    expect(error?.code).toBe('TL_SHAPE_MISMATCH');
    expect(error?.message).toContain('training data, batch 1: x has shape [2, 5]');
    tf.dispose([good.x, good.y, ragged.x, ragged.y]);
  });

  test('an empty batch is refused (was: TL_DATA_NOT_FINITE, the wrong diagnosis)', async () => {
    const empty = { x: tf.zeros([0, FEATURES]), y: tf.zeros([0, CLASSES]) };
    const error = await fitError('categoricalCrossentropy', [empty]);
    expect(error?.code).toBe('TL_DATA_INVALID');
    expect(error?.message).toContain('0 samples');
    tf.dispose([empty.x, empty.y]);
  });

  test('string tensors are refused by dtype (was: TL_HOOK_FAILED wrapping a tfjs error from the step)', async () => {
    const x = tf.tensor([['a', 'b', 'c', 'd']], [1, FEATURES], 'string');
    const y = tf.zeros([1, CLASSES]);
    const error = await fitError('categoricalCrossentropy', { x, y });
    expect(error?.code).toBe('TL_DATA_INVALID');
    expect(error?.message).toContain("x has dtype 'string'");
    tf.dispose([x, y]);
  });
});
