import type * as tf from '@tensorflow/tfjs';

const isTensorLike = (v: object): boolean =>
  typeof (v as { dataSync?: unknown }).dataSync === 'function' &&
  Array.isArray((v as { shape?: unknown }).shape);

function kindOf(v: object): string {
  if (isTensorLike(v)) return 'a tf.Tensor (return tensors from stateTensors())';
  if (v instanceof Map) return 'a Map (JSON writes {})';
  if (v instanceof Set) return 'a Set (JSON writes {})';
  if (v instanceof Date) return 'a Date (JSON writes a string)';
  if (ArrayBuffer.isView(v)) return 'a typed array (JSON writes an object of indices)';
  const name = (v as { constructor?: { name?: string } }).constructor?.name;
  return `an instance of ${name ?? 'a class'}`;
}

/**
 * Where `value` is not plain JSON (what `trainer.json` can hold and give back unchanged), one
 * sentence per place: `state.best is NaN (JSON writes null)`.
 */
export function jsonProblems(value: unknown, path = 'state', out: string[] = []): string[] {
  if (out.length >= 10) return out;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return out;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) out.push(`${path} is ${value} (JSON writes null)`);
    return out;
  }
  if (value === undefined) {
    out.push(`${path} is undefined (JSON drops it; use null)`);
    return out;
  }
  if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    out.push(`${path} is a ${typeof value} (not JSON)`);
    return out;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      jsonProblems(item, `${path}[${i}]`, out);
    });
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    out.push(`${path} is ${kindOf(value)}`);
    return out;
  }
  for (const [key, item] of Object.entries(value)) jsonProblems(item, `${path}.${key}`, out);
  return out;
}

/** The first difference between two JSON values, as `state.wait: 2 vs 0`, or undefined when equal. */
export function jsonDifference(a: unknown, b: unknown, path = 'state'): string | undefined {
  if (Object.is(a, b)) return undefined;
  const show = (v: unknown) => {
    const text = JSON.stringify(v) ?? String(v);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  };
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return `${path}: ${show(a)} vs ${show(b)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: ${show(a)} vs ${show(b)}`;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path} has ${a.length} items vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = jsonDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const key of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
    if (!(key in ra)) return `${path}.${key} is missing vs ${show(rb[key])}`;
    if (!(key in rb)) return `${path}.${key} is ${show(ra[key])} vs missing`;
    const d = jsonDifference(ra[key], rb[key], `${path}.${key}`);
    if (d) return d;
  }
  return undefined;
}

/** Host copies of a tensor map, by name (for comparing across processes and instances). */
export function tensorValues(tensors: Readonly<tf.NamedTensorMap>): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(tensors).map(([name, t]) => [name, Array.from(t.dataSync() as ArrayLike<number>)]),
  );
}

/** The largest absolute difference between two tensor-value maps; problems for missing or resized ones. */
export function tensorDifference(
  a: Readonly<Record<string, readonly number[]>>,
  b: Readonly<Record<string, readonly number[]>>,
  problems: string[],
  what: string,
): number {
  let max = 0;
  for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[name];
    const y = b[name];
    if (!x || !y || x.length !== y.length) {
      problems.push(
        `${what} "${name}" is ${x ? `${x.length} values` : 'missing'} in one and ${y ? `${y.length} values` : 'missing'} in the other`,
      );
      continue;
    }
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(x[i]) && Number.isNaN(y[i])) continue;
      const d = Math.abs(x[i]! - y[i]!);
      max = Math.max(max, Number.isNaN(d) ? Number.POSITIVE_INFINITY : d);
    }
  }
  return max;
}
