/** The version of @tensorloop/core, written into checkpoints and checked by plugins. */
export const CORE_VERSION = '0.1.0';
