import type { Verbosity } from './epoch-line.js';
import { TensorloopError } from './errors.js';
import type { Plugin } from './plugin.js';

/**
 * `verbose: 1` as tfjs means it, a progress bar, from `@tensorloop/progress` when it is installed.
 * Core does not depend on it: it is loaded by name on the first such fit, and without it the fit
 * prints core's one line per epoch instead.
 */

export const PROGRESS_PACKAGE = '@tensorloop/progress';

interface ProgressModule {
  progress(options?: object): Plugin;
}

// A variable specifier keeps bundlers from resolving an optional package at build time.
const importByName = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ specifier);

function isMissing(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return (
    e?.code === 'ERR_MODULE_NOT_FOUND' ||
    e?.code === 'MODULE_NOT_FOUND' ||
    /Cannot find (module|package)|Failed to (load|resolve)/.test(e?.message ?? '')
  );
}

/** The progress plugin to add for this fit, or undefined (not asked for, already registered, not installed). */
export async function progressForVerbose(
  verbose: Verbosity | undefined,
  plugins: readonly Plugin[],
  load: (specifier: string) => Promise<unknown> = importByName,
): Promise<Plugin | undefined> {
  if (verbose !== 1 || plugins.some((p) => p.name === PROGRESS_PACKAGE)) return undefined;
  let mod: unknown;
  try {
    mod = await load(PROGRESS_PACKAGE);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `verbose: 1 draws ${PROGRESS_PACKAGE}'s progress bar, but the installed package failed to load: ${(error as Error)?.message ?? String(error)}. Reinstall it, or pass verbose: 2 for one line per epoch.`,
      { cause: error },
    );
  }
  const factory = (mod as Partial<ProgressModule> | undefined)?.progress;
  return typeof factory === 'function' ? factory() : undefined;
}
