import * as tf from '@tensorflow/tfjs';
import {
  acceptsOrRefusesClearly,
  acceptsOrRefusesClearlyAsync,
  PROPERTY_RUNS,
  unprintable,
} from '@tensorloop/test-fixtures';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { initBackend } from './backend.js';
import { describeValue } from './describe-value.js';
import { adamw, sgd } from './optim/index.js';
import { tinyClassifier } from './test-helpers.js';
import { Trainer } from './trainer.js';

const model = tinyClassifier();
afterAll(() => model.dispose());

class Foo {
  readonly a = 1;
}
class Adam {}

/** An object every look at which throws: `String()` of it, its keys, its prototype. */
const throwingTraps: ProxyHandler<object> = {
  get: () => {
    throw new Error('get');
  },
  has: () => {
    throw new Error('has');
  },
  getPrototypeOf: () => {
    throw new Error('getPrototypeOf');
  },
  ownKeys: () => {
    throw new Error('ownKeys');
  },
  getOwnPropertyDescriptor: () => {
    throw new Error('getOwnPropertyDescriptor');
  },
};
const hostile = new Proxy({}, throwingTraps);
const revoked = Proxy.revocable({}, {});
revoked.revoke();

describe('describeValue', () => {
  test.each<[string, unknown, string]>([
    ['an integer', 3, '3'],
    ['a fraction', 0.5, '0.5'],
    ['NaN', Number.NaN, 'NaN'],
    ['Infinity', Number.POSITIVE_INFINITY, 'Infinity'],
    ['-Infinity', Number.NEGATIVE_INFINITY, '-Infinity'],
    ['-0', -0, '-0'],
    ['a string, quoted', 'batch', '"batch"'],
    ['the empty string', '', '""'],
    ['a string with a newline', 'a\nb', '"a\\nb"'],
    ['true', true, 'true'],
    ['false', false, 'false'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['a bigint', 12n, '12n'],
    ['a symbol', Symbol('x'), 'Symbol(x)'],
    ['a symbol without description', Symbol(), 'Symbol()'],
    ['a named function', function relu() {}, 'function relu'],
    [
      'an arrow function',
      (
        () => () =>
          1
      )(),
      'a function',
    ],
    ['a class', Foo, 'function Foo'],
    ['an array', [1, 2, 3], 'an array of 3 items'],
    ['an array of one', ['x'], 'an array of 1 item'],
    ['an empty array', [], 'an empty array'],
    ['an object', { a: 1, b: 'x' }, 'an object with keys a, b'],
    ['an object with one key', { a: 1 }, 'an object with key a'],
    ['an empty object', {}, 'an empty object'],
    [
      'an object with many keys',
      { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7 },
      'an object with keys a, b, c, d, e, …',
    ],
    ['an object with odd keys', { '': 1, 'two words': 2 }, 'an object with keys "", "two words"'],
    [
      'a prototype-less object',
      Object.assign(Object.create(null), { a: 1 }),
      'a prototype-less object with key a',
    ],
    ['an empty prototype-less object', Object.create(null), 'an empty prototype-less object'],
    ['a class instance', new Foo(), 'a Foo'],
    ['a class instance starting with a vowel', new Adam(), 'an Adam'],
    ['a Map', new Map([[1, 2]]), 'a Map'],
    ['a Date', new Date(0), 'a Date'],
    ['an Error', new TypeError('boom'), 'a TypeError'],
    ['a RegExp, as written', /dense_\d+/i, '/dense_\\d+/i'],
    ['a typed array', new Float32Array(4), 'a Float32Array of 4 items'],
    ['a boxed number', Object(1), 'a Number'],
    ['a Promise', Promise.resolve(1), 'a Promise'],
    ['a tensor-like object', { shape: [2, 3], dtype: 'float32' }, 'a tf.Tensor of shape [2,3]'],
    ['a hostile Proxy', hostile, 'an object'],
    ['a revoked Proxy', revoked.proxy, 'an object'],
  ])('%s', (_, value, expected) => {
    expect(describeValue(value)).toBe(expected);
  });

  test('a tf.Tensor by its shape', () => {
    const t = tf.zeros([2, 3]);
    const s = tf.scalar(1);
    const v = tf.variable(s);
    expect(describeValue(t)).toBe('a tf.Tensor of shape [2,3]');
    expect(describeValue(s)).toBe('a tf.Tensor of shape []');
    expect(describeValue(v)).toBe('a tf.Tensor of shape []');
    tf.dispose([t, s, v]);
  });

  test('values String() throws on or prints as [object Object]', () => {
    const throwing = {
      toString() {
        throw new Error('toString');
      },
      [Symbol.toPrimitive]() {
        throw new Error('toPrimitive');
      },
    };
    expect(() => String(throwing)).toThrow();
    expect(() => String(Object.create(null))).toThrow(TypeError);
    expect(describeValue(throwing)).toBe('an object with key toString');
    const nameThrows = Object.defineProperty(() => 1, 'name', {
      get() {
        throw new Error('name');
      },
    });
    expect(describeValue(nameThrows)).toBe('a function');
    const ctorGetter = Object.create(
      Object.defineProperty({}, 'constructor', {
        get() {
          throw new Error('constructor');
        },
      }),
    );
    expect(describeValue(ctorGetter)).toBe('an empty object'); // the getter is not run
  });

  test('long strings, names and keys are cut with an ellipsis', () => {
    const text = describeValue('x'.repeat(10_000));
    expect(text).toBe(`"${'x'.repeat(59)}"…`);
    expect(describeValue(`${'a'.repeat(58)}😀😀`)).toBe(`"${'a'.repeat(58)}"…`); // no half emoji
    expect(describeValue(Symbol('s'.repeat(200))).length).toBeLessThanOrEqual(70);
    expect(describeValue(10n ** 200n).length).toBeLessThanOrEqual(70);
    expect(describeValue({ [`k${'y'.repeat(100)}`]: 1 })).toBe(`an object with key k${'y'.repeat(18)}…`);
    expect(describeValue(new Array(1_000_000))).toBe('an array of 1000000 items');
  });

  test('never throws, and stays short, whatever the value (property)', () => {
    const anything = fc.anything({
      withNullPrototype: true,
      withBigInt: true,
      withBoxedValues: true,
      withMap: true,
      withSet: true,
      withDate: true,
      withTypedArray: true,
      withSparseArray: true,
      withObjectString: true,
      withUnicodeString: true,
    });
    const check = (value: unknown) => {
      const text = describeValue(value);
      expect(typeof text).toBe('string');
      expect(text.length).toBeGreaterThan(0);
      expect(text.length).toBeLessThanOrEqual(200);
    };
    fc.assert(
      fc.property(anything, (value) => {
        check(value);
        // The same value behind a Proxy that throws on every look (made here: fast-check cannot hold one).
        if (typeof value === 'object' && value !== null) check(new Proxy(value, throwingTraps));
      }),
      { numRuns: PROPERTY_RUNS * 4 },
    );
  });
});

// Entry points whose messages used `String(value)`: an object it cannot print made them throw
// "TypeError: Cannot convert object to primitive value" instead of their coded error.
describe('options no String() can print, at the entry points', () => {
  test.each(unprintable)('%s as adamw({ amsgrad }) or sgd({ lr }): TL_OPTION_INVALID', (_, value) => {
    const amsgrad = acceptsOrRefusesClearly(() => adamw({ amsgrad: value as never }), ['amsgrad']);
    expect(amsgrad?.code).toBe('TL_OPTION_INVALID');
    expect(amsgrad?.message).toMatch(/`amsgrad` must be a boolean, got (a prototype-less|an) object/);
    const lr = acceptsOrRefusesClearly(() => sgd({ lr: value as never }), ['lr']);
    expect(lr?.code).toBe('TL_OPTION_INVALID');
  });

  test.each(unprintable)('%s as initBackend(choice): TL_OPTION_INVALID', async (_, value) => {
    const error = await acceptsOrRefusesClearlyAsync(() => initBackend(value as never), ['backend']);
    expect(error?.code).toBe('TL_OPTION_INVALID');
    expect(error?.message).toMatch(/Unknown backend (a prototype-less|an) object/);
  });

  test.each(unprintable)('%s as new Trainer({ loss }): TL_LOSS_UNKNOWN', (_, value) => {
    const error = acceptsOrRefusesClearly(
      () => new Trainer({ model, loss: value as never, optimizer: tf.train.sgd(0.1), log: 'silent' }),
      ['loss'],
    );
    expect(error?.code).toBe('TL_LOSS_UNKNOWN');
  });
});
