/**
 * Names plugins had before they followed the rule that a plugin is named by its package. The old
 * name still finds the plugin (in `ctx.plugin`, `hasPlugin`, `before`/`after`/`dependencies` and
 * saved checkpoint state) for one minor version, with a deprecation warning.
 */
const RENAMED: Readonly<Record<string, string>> = {
  checkpoint: '@tensorloop/core:checkpoint',
};

/** The current name for `name`, and whether `name` was a deprecated one. */
export function currentPluginName(name: string): { name: string; deprecated: boolean } {
  const renamed = RENAMED[name];
  return renamed === undefined ? { name, deprecated: false } : { name: renamed, deprecated: true };
}

/** The deprecated names that now mean `name` (to read state saved under an old name). */
export function formerPluginNames(name: string): string[] {
  return Object.entries(RENAMED)
    .filter(([, current]) => current === name)
    .map(([old]) => old);
}

export function deprecationMessage(old: string, current: string): string {
  return `the plugin name "${old}" is deprecated: use "${current}" (the old name stops working in @tensorloop/core 0.3).`;
}
