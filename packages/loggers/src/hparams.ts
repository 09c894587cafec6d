import type { HyperparamAccess } from '@tensorloop/core';

/** Which hyperparameters a logger records: names from the store, every value (`'all'`), or none. */
export type HparamSelection = readonly string[] | 'all' | false;

/** The learning rate and the momentum-like values schedules move (one-cycle, warmup); others only if asked. */
export const DEFAULT_HPARAMS: readonly string[] = ['lr', 'momentum', 'beta1'];

/**
 * Current values of the selected hyperparameters, flattened as core names `lr` in the epoch logs:
 * `lr` for the default group (or the only group, or a value without groups), `lr/<group>` for the others. Names the store does
 * not hold are skipped (a tfjs optimizer has only `lr`).
 */
export function readHparams(store: HyperparamAccess, selection: HparamSelection): Record<string, number> {
  if (selection === false) return {};
  const known = store.names();
  const names = selection === 'all' ? known : selection.filter((n) => known.includes(n));
  const out: Record<string, number> = {};
  for (const name of names) {
    const groups = store.groups(name);
    if (groups.length === 0) out[name] = store.get(name);
    else if (groups.length === 1) out[name] = store.get(name, { group: groups[0]! });
    else
      for (const group of groups)
        out[group === 'default' ? name : `${name}/${group}`] = store.get(name, { group });
  }
  return out;
}
