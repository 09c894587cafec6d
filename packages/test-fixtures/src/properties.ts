// Shared pieces of the property tests (issue 20): values a user (or a file) could pass where an
// option, a schedule or a saved state is expected, and the rule every parser must follow with them.
import fc from 'fast-check';

/** Runs per property: enough to find the shapes of input a parser forgot, few enough to stay fast. */
export const PROPERTY_RUNS = 150;

// Seeded, so a CI run is reproducible (a counterexample prints its seed and path anyway). Set
// TL_PROPERTY_SEED=random to explore new inputs, or to a number to replay one.
const seedSetting = typeof process === 'undefined' ? undefined : process.env.TL_PROPERTY_SEED;
if (seedSetting !== 'random') fc.configureGlobal({ seed: Number(seedSetting ?? 20) || 20 });

/**
 * Objects `String(value)` throws on ("Cannot convert object to primitive value"): one without a
 * prototype (`Object.create(null)`, as some parsers and caches make them) and one whose `toString` and
 * `Symbol.toPrimitive` throw. A message must describe them (core's `describeValue`), not crash on them.
 */
export const unprintable: readonly (readonly [label: string, value: object])[] = [
  ['an object without a prototype', Object.assign(Object.create(null) as object, { a: 1 })],
  [
    'an object whose toString throws',
    {
      toString(): string {
        throw new Error('toString refused');
      },
      [Symbol.toPrimitive](): never {
        throw new Error('toPrimitive refused');
      },
    },
  ],
];

/** JSON-ish junk and the JavaScript values that trip hand-written checks (NaN, -0, functions, arrays). */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...unprintable.map(([, value]) => value)),
  fc.constantFrom(
    null,
    undefined,
    true,
    false,
    0,
    -0,
    -1,
    1,
    0.5,
    1e308,
    -1e308,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MAX_SAFE_INTEGER + 2,
    '',
    'x',
    '1',
    '__proto__',
    [],
    [null],
    {},
  ),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.constant(null)), { maxLength: 4 }),
  // Plain objects, as JSON.parse and object literals make them (the prototype-less ones are in
  // `unprintable` above, a fixed share of the runs).
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), {
    maxKeys: 3,
    noNullPrototype: true,
  }),
  fc.constant(() => 1),
);

/** A TensorloopError (checked by shape: this package does not depend on core). */
export interface CodedError {
  readonly name: 'TensorloopError';
  readonly code: string;
  readonly message: string;
}

export function isCodedError(error: unknown): error is CodedError {
  if (!(error instanceof Error) || error.name !== 'TensorloopError') return false;
  const code: unknown = (error as unknown as { code?: unknown }).code;
  return typeof code === 'string' && /^TL_[A-Z_]+$/.test(code) && error.message.startsWith(`[${code}] `);
}

/**
 * The rule of issue 20 for one input: `run` returns, or throws a coded TensorloopError whose message
 * names the input (`mentions`, any of them) — never a TypeError, a RangeError or a tfjs internal error.
 * Returns the error (undefined when `run` accepted the input) so a property can say more.
 */
export function acceptsOrRefusesClearly(
  run: () => unknown,
  mentions: readonly string[] = [],
): CodedError | undefined {
  let error: unknown;
  try {
    run();
    return undefined;
  } catch (e) {
    error = e;
  }
  if (!isCodedError(error)) {
    throw new Error(`expected a coded TensorloopError, got ${describeThrown(error)}`, { cause: error });
  }
  if (mentions.length > 0 && !mentions.some((m) => error.message.includes(m))) {
    throw new Error(`the message does not name the input (${mentions.join(' or ')}): ${error.message}`);
  }
  return error;
}

/** The same rule for an async parser (a file read, a trainer call). */
export async function acceptsOrRefusesClearlyAsync(
  run: () => Promise<unknown>,
  mentions: readonly string[] = [],
): Promise<CodedError | undefined> {
  let error: unknown;
  try {
    await run();
    return undefined;
  } catch (e) {
    error = e;
  }
  return acceptsOrRefusesClearly(() => {
    throw error;
  }, mentions);
}

function describeThrown(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return JSON.stringify(error) ?? String(error);
}

/**
 * The option keys a factory knows, read from its own unknown-option error ("Valid options: a, b.").
 * Keeps the property tests in step with the factories without a second list to maintain.
 */
export function validOptionKeys(
  factory: (options: Record<string, unknown>) => unknown,
  base: Record<string, unknown> = {},
): string[] {
  try {
    factory({ ...base, __notAnOption__: 1 });
  } catch (error) {
    const match = /Valid options: ([^.]*)\./.exec(error instanceof Error ? error.message : '');
    if (match) return match[1]!.split(', ');
  }
  throw new Error('the factory did not refuse an unknown option with its list of valid options');
}

/**
 * Properties every option validator must pass: each known key set to junk (one or two at a time) is
 * accepted or refused naming that key; an unknown key is refused as TL_OPTION_INVALID; a non-object
 * is refused clearly.
 */
export function checkOptionProperties(
  factory: (options: Record<string, unknown>) => unknown,
  base: Record<string, unknown>,
  options: { readonly numRuns?: number; readonly skip?: readonly string[] } = {},
): void {
  const keys = validOptionKeys(factory, base).filter((k) => !(options.skip ?? []).includes(k));
  const numRuns = options.numRuns ?? PROPERTY_RUNS;
  fc.assert(
    fc.property(fc.constantFrom(...keys), junk, (key, value) => {
      acceptsOrRefusesClearly(() => factory({ ...base, [key]: value }), [key]);
    }),
    { numRuns },
  );
  fc.assert(
    fc.property(fc.subarray(keys, { minLength: 2, maxLength: 2 }), junk, junk, ([a, b], va, vb) => {
      acceptsOrRefusesClearly(() => factory({ ...base, [a!]: va, [b!]: vb }), [a!, b!]);
    }),
    { numRuns },
  );
  fc.assert(
    fc.property(
      fc.string({ minLength: 1, maxLength: 10 }).filter((k) => !keys.includes(k) && k !== '__proto__'),
      (key) => {
        const error = acceptsOrRefusesClearly(() => factory({ ...base, [key]: 1 }), [key]);
        if (error?.code !== 'TL_OPTION_INVALID' && !(options.skip ?? []).includes(key)) {
          throw new Error(`unknown option ${JSON.stringify(key)} was not refused as TL_OPTION_INVALID`);
        }
      },
    ),
    { numRuns: Math.ceil(numRuns / 3) },
  );
  fc.assert(
    fc.property(
      junk.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
      (value) => {
        acceptsOrRefusesClearly(() => factory(value as Record<string, unknown>));
      },
    ),
    { numRuns: Math.ceil(numRuns / 3) },
  );
}
