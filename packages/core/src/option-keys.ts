import { TensorloopError } from './errors.js';
import { shownValue } from './shown-value.js';

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function lexicographicallyLess(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

const normalized = (key: string) => key.toLowerCase().replace(/[_-]/g, '');

/**
 * The valid key closest to `key`: smallest edit distance once case, `_` and `-` are ignored (so
 * Python's `restore_best_weights` finds `restoreBestWeights`), then the longer common start, then
 * the plain edit distance, then the order of `valid`.
 */
export function closestKey(key: string, valid: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore: readonly number[] = [];
  for (const candidate of valid) {
    const a = normalized(key);
    const b = normalized(candidate);
    let prefix = 0;
    while (prefix < a.length && a[prefix] === b[prefix]) prefix++;
    // Lower is better, compared in order: an abbreviation (`pow`) is nearer the key it starts (`power`).
    const score = [editDistance(a, b), -prefix, editDistance(key, candidate)];
    const better = best === undefined || lexicographicallyLess(score, bestScore);
    if (better) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

/**
 * Refuses option keys a factory does not know, with `TL_OPTION_INVALID` naming each unknown key and
 * the closest valid one: a typo (`threephase`) or a key carried over from Keras or PyTorch
 * (`min_lr`) would otherwise be ignored and the run would silently do something else. `undefined`
 * passes (the factory's defaults); `null`, a number, a string, an array or a function is refused
 * with `TL_OPTION_INVALID` too (they used to surface as a TypeError inside the factory).
 */
export function checkOptionKeys(
  owner: string,
  options: unknown,
  valid: readonly string[],
  details: { plugin?: string } = {},
): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `${owner}: options must be an object of named options (valid: ${valid.join(', ')}); got ${shownValue(options)}.`,
      details.plugin === undefined ? {} : { plugin: details.plugin },
    );
  }
  const unknown = Object.keys(options).filter((key) => !valid.includes(key));
  if (unknown.length === 0) return;
  const closest = (key: string) => closestKey(key, valid);
  const one = (key: string) => {
    const near = closest(key);
    return near === undefined
      ? `unknown option "${key}".`
      : `unknown option "${key}"; did you mean "${near}"?`;
  };
  const many = () =>
    `unknown options ${unknown
      .map((key) => {
        const near = closest(key);
        return near === undefined ? `"${key}"` : `"${key}" (did you mean "${near}"?)`;
      })
      .join(', ')}.`;
  const what = unknown.length === 1 ? one(unknown[0]!) : many();
  throw new TensorloopError(
    'TL_OPTION_INVALID',
    `${owner}: ${what} Valid options: ${valid.join(', ')}.`,
    details.plugin === undefined ? {} : { plugin: details.plugin },
  );
}
