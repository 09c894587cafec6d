import { describeValue, TensorloopError } from '@tensorloop/core';

/**
 * A file logger's plugin name: its `name` option, or the default. Checked first, because every other
 * message of the logger starts with it (`[name] csvLogger(): ...`) and could not be built from a
 * non-string. An empty string goes on to the logger's own check.
 */
export function loggerName(name: unknown, fallback: string, what: string): string {
  if (name === undefined) return fallback;
  if (typeof name === 'string') return name;
  throw new TensorloopError(
    'TL_OPTION_INVALID',
    `${what}: name must be the plugin's name (a string); got ${describeValue(name)}.`,
    { plugin: fallback },
  );
}
