import { TensorloopError } from './errors.js';
import { type Plugin, WEIGHT_WRITE_POINTS, type WeightWritePoint } from './plugin.js';
import { currentPluginName } from './plugin-aliases.js';

/**
 * Plugins that write the model's weights (`writesWeights`), checked like hyperparameter writers:
 * two at the same point would overwrite each other silently (restore-best, then an EMA swap), so
 * they are `TL_PLUGIN_CONFLICT` unless one orders itself against the other.
 */

export interface WeightWriter {
  readonly plugin: string;
  readonly point: WeightWritePoint;
}

function pointsOf(plugin: Plugin): readonly WeightWritePoint[] {
  const declared = plugin.writesWeights;
  if (declared === undefined) return [];
  const points = typeof declared === 'string' ? [declared] : declared;
  if (!Array.isArray(points) || points.some((p) => !WEIGHT_WRITE_POINTS.includes(p))) {
    throw new TensorloopError(
      'TL_PLUGIN_INVALID',
      `Plugin "${plugin.name}": writesWeights must be one of ${WEIGHT_WRITE_POINTS.join(', ')} or a list of them; got ${JSON.stringify(declared)}.`,
      { plugin: plugin.name },
    );
  }
  return points;
}

/** Every declared weight writer, in plugin order. */
export function weightWriters(plugins: readonly Plugin[]): WeightWriter[] {
  return plugins.flatMap((plugin) => pointsOf(plugin).map((point) => ({ plugin: plugin.name, point })));
}

function names(list: readonly string[] | undefined): string[] {
  return (list ?? []).flatMap((n) => [n, currentPluginName(n).name]);
}

/** True when `a` or `b` declares where it runs relative to the other. */
function ordered(a: Plugin, b: Plugin): boolean {
  const refers = (p: Plugin, other: string) =>
    [...names(p.before), ...names(p.after), ...names(p.dependencies)].includes(other);
  return refers(a, b.name) || refers(b, a.name);
}

/** Throws `TL_PLUGIN_CONFLICT` for two unordered writers at one point. */
export function checkWeightWriters(plugins: readonly Plugin[]): void {
  const byName = new Map(plugins.map((p) => [p.name, p]));
  const writers = weightWriters(plugins);
  for (let i = 0; i < writers.length; i++) {
    for (let j = i + 1; j < writers.length; j++) {
      const a = writers[i]!;
      const b = writers[j]!;
      if (a.point !== b.point || a.plugin === b.plugin) continue;
      if (ordered(byName.get(a.plugin)!, byName.get(b.plugin)!)) continue;
      throw new TensorloopError(
        'TL_PLUGIN_CONFLICT',
        `Plugins "${a.plugin}" and "${b.plugin}" both write the model's weights at ${a.point}: the later one would silently overwrite the other. Order them (after: ['${a.plugin}'] on "${b.plugin}" makes "${b.plugin}"'s weights the ones that stay), or turn one of the writes off.`,
        { plugin: b.plugin },
      );
    }
  }
}
