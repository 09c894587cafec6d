// Replaced at build time with package.json's version (tsup `define`); tests and sources see the
// fallback.
declare const __TENSORLOOP_CORE_VERSION__: string | undefined;

/** The version of @tensorloop/core, written into checkpoints and checked by plugins. */
export const CORE_VERSION: string =
  typeof __TENSORLOOP_CORE_VERSION__ === 'string' ? __TENSORLOOP_CORE_VERSION__ : '0.0.0-source';
