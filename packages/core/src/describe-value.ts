/** Longest text of a user's string (or a name, a RegExp) a message shows; the rest becomes "…". */
const MAX_TEXT = 60;
/** Keys an object's description lists before "…". */
const MAX_KEYS = 5;
/** Longest key shown in that list. */
const MAX_KEY = 20;

/**
 * What a user-supplied value is, for an error or warning message: `NaN`, `-0`, `"0.5"`, `12n`,
 * `Symbol(x)`, `function relu`, `an array of 3 items`, `an object with keys a, b`,
 * `a prototype-less object with keys a`, `a Foo`, `a tf.Tensor of shape [2,3]`.
 *
 * Messages use it instead of `String(value)`: that throws a TypeError for an object without a
 * prototype or with a throwing `toString`/`Symbol.toPrimitive` (so the user would get "Cannot convert
 * object to primitive value" instead of the coded error), prints `[object Object]` for any object and
 * prints all of a huge string or array. This never throws, whatever the value (a revoked Proxy, a
 * getter that throws), and its text stays short however big the value is.
 */
export function describeValue(value: unknown): string {
  try {
    return describe(value);
  } catch {
    // A Proxy or a getter refused to be looked at: its kind is all we can say.
    return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  }
}

function describe(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value); // NaN, Infinity as JavaScript prints them
    case 'string':
      return quoted(value);
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
      return `${cut(value.toString())}n`;
    case 'symbol':
      return `Symbol(${cut(value.description ?? '')})`;
    case 'function': {
      const name: unknown = Object.getOwnPropertyDescriptor(value, 'name')?.value;
      return typeof name === 'string' && name !== '' ? `function ${cut(name)}` : 'a function';
    }
    default:
      return value === null ? 'null' : describeObject(value as object);
  }
}

function describeObject(value: object): string {
  if (Array.isArray(value))
    return value.length === 0 ? 'an empty array' : `an array of ${items(value.length)}`;
  const tensorShape = shapeOf(value);
  if (tensorShape) return `a tf.Tensor of shape [${tensorShape.join(',')}]`;
  if (value instanceof RegExp) return cut(RegExp.prototype.toString.call(value)); // /dense/i says more than "a RegExp"
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === null) return keyed(value, 'a prototype-less object', 'an empty prototype-less object');
  const name = constructorName(proto as object);
  if (name === 'Object') return keyed(value, 'an object', 'an empty object');
  if (name === undefined) return 'an object';
  const kind = `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${cut(name)}`;
  return ArrayBuffer.isView(value) && 'length' in value && typeof value.length === 'number'
    ? `${kind} of ${items(value.length)}`
    : kind;
}

/** A tensor's shape, by its look (`shape` and `dtype`): a plugin's copy of tfjs makes other classes. */
function shapeOf(value: object): readonly number[] | undefined {
  const { shape, dtype } = value as { shape?: unknown; dtype?: unknown };
  if (typeof dtype !== 'string' || !Array.isArray(shape) || shape.length > 16) return undefined;
  return shape.every((d) => Number.isInteger(d)) ? (shape as number[]) : undefined;
}

/** The name of the class that made an object, read without running a getter. */
function constructorName(proto: object): string | undefined {
  let current: object | null = proto;
  for (let depth = 0; current !== null && depth < 32; depth++) {
    const ctor: unknown = Object.getOwnPropertyDescriptor(current, 'constructor')?.value;
    if (typeof ctor === 'function') {
      const name: unknown = Object.getOwnPropertyDescriptor(ctor, 'name')?.value;
      return typeof name === 'string' && name !== '' ? name : undefined;
    }
    current = Object.getPrototypeOf(current) as object | null;
  }
  return undefined;
}

/** "<kind> with keys a, b, …", listing at most MAX_KEYS own enumerable keys. */
function keyed(value: object, kind: string, empty: string): string {
  const keys: string[] = [];
  let more = false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (keys.length === MAX_KEYS) {
      more = true;
      break;
    }
    keys.push(/^[A-Za-z_$][\w$]*$/.test(key) ? cut(key, MAX_KEY) : quoted(key, MAX_KEY));
  }
  if (keys.length === 0) return empty;
  return `${kind} with ${keys.length === 1 && !more ? 'key' : 'keys'} ${keys.join(', ')}${more ? ', …' : ''}`;
}

const items = (n: number): string => `${n} item${n === 1 ? '' : 's'}`;

/** JSON-quoted (so a newline or an empty string shows), the text cut to `max` characters first. */
function quoted(text: string, max = MAX_TEXT): string {
  return text.length > max ? `${JSON.stringify(head(text, max - 1))}…` : JSON.stringify(text);
}

function cut(text: string, max = MAX_TEXT): string {
  return text.length > max ? `${head(text, max - 1)}…` : text;
}

/** The first `n` UTF-16 units, one fewer rather than half an emoji. */
function head(text: string, n: number): string {
  const code = text.charCodeAt(n - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}
