/**
 * A user's value as an error message shows it: JSON where it can be (`"0.5"`, `{"a":1}`), else its
 * kind. Never throws, whatever the value (an object without a prototype, a cycle, a BigInt).
 */
export function shownValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'number') return String(value); // NaN, Infinity, -0 as JavaScript prints them
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    // fall through
  }
  return `a ${typeof value}`;
}
