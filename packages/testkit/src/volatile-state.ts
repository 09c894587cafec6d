import { TensorloopError } from '@tensorloop/core';

/**
 * State fields a plugin fills from the wall clock (a start date, seconds per epoch): equal in no two
 * runs, so the resume check compares only their kind. A path is dot-separated keys of the plugin's
 * `state()`; `*` matches any key or array index (`'fits.*.seconds'`).
 */
export type VolatilePath = string;

/** What a volatile value is compared as: its kind, not its value. */
const kindOf = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;

function maskAt(value: unknown, segments: readonly string[]): unknown {
  if (segments.length === 0) return { volatile: kindOf(value) };
  if (typeof value !== 'object' || value === null) return value;
  const [head, ...rest] = segments as [string, ...string[]];
  if (Array.isArray(value)) {
    return value.map((item, i) => (head === '*' || head === String(i) ? maskAt(item, rest) : item));
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = head === '*' || head === key ? maskAt(item, rest) : item;
  }
  return out;
}

/** `state` with every field at `paths` replaced by its kind. */
export function maskVolatile(state: unknown, paths: readonly VolatilePath[]): unknown {
  return paths.reduce((s, path) => maskAt(s, path.split('.')), state);
}

/** A recorded decision with the volatile fields of `plugin`'s state masked. */
export function maskDecision(decision: unknown, plugin: string, paths: readonly VolatilePath[]): unknown {
  if (paths.length === 0 || typeof decision !== 'object' || decision === null) return decision;
  const d = decision as { states?: Record<string, unknown> };
  if (!d.states || !(plugin in d.states)) return decision;
  return { ...d, states: { ...d.states, [plugin]: maskVolatile(d.states[plugin], paths) } };
}

/** Refuses a malformed path list early, naming the bad entry. */
export function checkVolatilePaths(paths: unknown): readonly VolatilePath[] {
  if (paths === undefined) return [];
  if (
    !Array.isArray(paths) ||
    !paths.every((p) => typeof p === 'string' && p.length > 0 && !p.split('.').includes(''))
  ) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `@tensorloop/testkit: resume.volatileState must be an array of dot-separated state paths such as 'fits.*.seconds'; got ${JSON.stringify(paths)}.`,
    );
  }
  return paths;
}
