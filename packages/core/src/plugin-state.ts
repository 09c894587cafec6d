import { TensorloopError } from './errors.js';

type Kind = 'number' | 'integer';
interface NumberRule {
  /** Allow `null` (returned as null). */
  readonly nullable?: boolean;
  readonly min?: number;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  try {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return typeof value;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a plugin's saved state field by field (a checkpoint is a file: untrusted). Every accessor
 * returns the typed value or throws `TL_CHECKPOINT_INVALID` naming the plugin and the field, so a
 * `parseState` reads as the shape it expects:
 *
 * ```ts
 * parseState(saved) {
 *   const s = readState(saved, 'my-plugin');
 *   return { best: s.number('best', { nullable: true }), wait: s.integer('wait', { min: 0 }) };
 * }
 * ```
 */
export class StateReader {
  private constructor(
    private readonly value: Record<string, unknown>,
    readonly plugin: string,
    private readonly path: string,
  ) {}

  /** A reader over `saved`, which must be a JSON object. */
  static of(saved: unknown, plugin: string, path = 'state'): StateReader {
    if (!isRecord(saved)) {
      throw StateReader.invalid(plugin, path, 'an object', saved);
    }
    return new StateReader(saved, plugin, path);
  }

  static invalid(plugin: string, path: string, expected: string, got: unknown): TensorloopError {
    return new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `[${plugin}] the checkpoint's state is not what this plugin writes: ${path} must be ${expected}; got ${describeValue(got)}. Resume from a checkpoint this plugin wrote (same plugin and options), or drop resumeFrom to start afresh.`,
      { plugin },
    );
  }

  /** Keys present in the saved object. */
  keys(): string[] {
    return Object.keys(this.value);
  }

  has(key: string): boolean {
    return this.value[key] !== undefined;
  }

  /**
   * The saved value at `key`, unchecked: for shapes the accessors do not cover. Check it yourself
   * and refuse with `this.invalidAt(key, expected)`.
   */
  raw(key: string): unknown {
    return this.value[key];
  }

  /** `TL_CHECKPOINT_INVALID` for `key` of this object: throw it when `raw(key)` is not what you expect. */
  invalidAt(key: string, expected: string): TensorloopError {
    return StateReader.invalid(this.plugin, this.at(key), expected, this.value[key]);
  }

  private at(key: string): string {
    return `${this.path}.${key}`;
  }

  private fail(key: string, expected: string): never {
    throw StateReader.invalid(this.plugin, this.at(key), expected, this.value[key]);
  }

  string(key: string, rule: { nullable: true }): string | null;
  string(key: string): string;
  string(key: string, rule: { nullable?: boolean } = {}): string | null {
    const v = this.value[key];
    if ((v === null || v === undefined) && rule.nullable) return null;
    if (typeof v !== 'string') this.fail(key, rule.nullable ? 'a string or null' : 'a string');
    return v;
  }

  boolean(key: string): boolean {
    const v = this.value[key];
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }

  oneOf<const T extends string>(key: string, values: readonly T[]): T {
    const v = this.value[key];
    if (!values.includes(v as T)) this.fail(key, `one of ${values.map((x) => `"${x}"`).join(', ')}`);
    return v as T;
  }

  number(key: string, rule: NumberRule & { nullable: true }): number | null;
  number(key: string, rule?: NumberRule): number;
  number(key: string, rule: NumberRule = {}): number | null {
    return this.numeric(key, 'number', rule);
  }

  integer(key: string, rule: NumberRule & { nullable: true }): number | null;
  integer(key: string, rule?: NumberRule): number;
  integer(key: string, rule: NumberRule = {}): number | null {
    return this.numeric(key, 'integer', rule);
  }

  /** An object of numbers (`{ default: 0.5, head: 0.25 }`). */
  numberRecord(key: string): Record<string, number> {
    const v = this.value[key];
    if (!isRecord(v) || !Object.values(v).every((x) => typeof x === 'number')) {
      this.fail(key, 'an object of numbers');
    }
    return { ...(v as Record<string, number>) };
  }

  /** A nested object, read with its own reader; `null` allowed with `nullable`. */
  object<T>(key: string, read: (fields: StateReader) => T, rule: { nullable: true }): T | null;
  object<T>(key: string, read: (fields: StateReader) => T): T;
  object<T>(key: string, read: (fields: StateReader) => T, rule: { nullable?: boolean } = {}): T | null {
    const v = this.value[key];
    if (v === null && rule.nullable) return null;
    if (!isRecord(v)) this.fail(key, rule.nullable ? 'an object or null' : 'an object');
    return read(new StateReader(v, this.plugin, this.at(key)));
  }

  /** An array of objects, each read with its own reader. */
  objects<T>(key: string, read: (fields: StateReader, index: number) => T): T[] {
    const v = this.value[key];
    if (!Array.isArray(v)) this.fail(key, 'an array');
    return v.map((item, i) => read(StateReader.of(item, this.plugin, `${this.at(key)}[${i}]`), i));
  }

  /** An array of numbers. */
  numbers(key: string): number[] {
    const v = this.value[key];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) this.fail(key, 'an array of numbers');
    return [...(v as number[])];
  }

  private numeric(key: string, kind: Kind, rule: NumberRule): number | null {
    const v = this.value[key];
    if (v === null && rule.nullable) return null;
    const ok =
      typeof v === 'number' &&
      !Number.isNaN(v) &&
      (kind === 'number' || Number.isInteger(v)) &&
      (rule.min === undefined || v >= rule.min);
    if (!ok) {
      const what = kind === 'integer' ? 'an integer' : 'a number';
      const bound = rule.min === undefined ? '' : ` ≥ ${rule.min}`;
      this.fail(key, `${what}${bound}${rule.nullable ? ' or null' : ''}`);
    }
    return v as number;
  }
}

/** `StateReader.of(saved, plugin)`: the reader a `parseState` starts from. */
export function readState(saved: unknown, plugin: string): StateReader {
  return StateReader.of(saved, plugin);
}
