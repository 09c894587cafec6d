import type { HyperparamStore } from './hyperparams.js';
import { orderPlugins } from './ordering.js';
import type { Plugin } from './plugin.js';
import { checkWeightWriters } from './weight-writers.js';

/**
 * The trainer's plugins: those it was built with, plus sets added between fits (a multi-stage
 * driver's stage plugins), resolved in one order. Adding a set declares its hyperparameter writers;
 * removing it forgets them and what they wrote, so a stage's schedule ends with its stage. Weight
 * writers (`writesWeights`) are checked for conflicts whenever the set changes.
 */
export class PluginList {
  private readonly added: (readonly Plugin[])[] = [];
  private resolved: readonly Plugin[];

  constructor(
    private readonly base: readonly Plugin[],
    private readonly store: HyperparamStore,
  ) {
    this.resolved = orderPlugins(base);
    checkWeightWriters(this.resolved);
  }

  /** Every plugin, in resolved order. */
  get ordered(): readonly Plugin[] {
    return this.resolved;
  }

  /**
   * Add a set. Ordering errors (duplicate names, missing dependencies, cycles) and hyperparameter
   * conflicts are thrown before anything changes. Returns the function that removes the set again.
   */
  add(plugins: readonly Plugin[]): () => void {
    const set = [...plugins];
    const ordered = orderPlugins([...this.base, ...this.added.flat(), ...set]);
    checkWeightWriters(ordered);
    const declared: string[] = [];
    try {
      for (const plugin of set) {
        declared.push(plugin.name);
        declareWriters(this.store, [plugin]);
      }
    } catch (error) {
      for (const name of declared) this.store.removeWriters(name);
      throw error;
    }
    this.added.push(set);
    this.resolved = ordered;
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      this.added.splice(this.added.indexOf(set), 1);
      for (const plugin of set) this.store.removeWriters(plugin.name);
      this.resolved = orderPlugins([...this.base, ...this.added.flat()]);
    };
  }
}

/** Declare the hyperparameters these plugins write (`hparams: [...]`), so conflicts fail before training. */
export function declareWriters(store: HyperparamStore, plugins: readonly Plugin[]): void {
  for (const plugin of plugins) {
    for (const w of plugin.hparams ?? []) {
      store.declareWriter({
        plugin: plugin.name,
        name: w.name,
        mode: w.mode,
        ...(w.groups ? { groups: w.groups } : {}),
      });
    }
  }
}
