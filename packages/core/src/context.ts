import { describeValue } from './describe-value.js';
import { TensorloopError } from './errors.js';
import type { HyperparamStore } from './hyperparams.js';
import type {
  CustomEventName,
  EpochRecord,
  FitPlanInfo,
  HookEvents,
  HyperparamAccess,
  Logger,
  Plugin,
  PluginApiMap,
  StopReason,
  TrainerContext,
} from './plugin.js';
import { CORE_EVENT_NAMES } from './plugin.js';
import { currentPluginName, deprecationMessage } from './plugin-aliases.js';
import type { Time } from './time.js';

const CORE_EVENTS: ReadonlySet<string> = new Set<string>(CORE_EVENT_NAMES);

/** What a context reads from (and asks of) its trainer, live. */
export interface ContextHost {
  readonly time: Time;
  readonly model: TrainerContext['model'];
  readonly optimizer: TrainerContext['optimizer'];
  readonly plan: FitPlanInfo | undefined;
  readonly history: readonly EpochRecord[];
  readonly stopReason: StopReason | undefined;
  readonly plugins: readonly Plugin[];
  readonly store: HyperparamStore;
  readonly metricDirections: ReadonlyMap<string, 'min' | 'max'>;
  logger(self: string): Logger;
  emit(name: string, event: unknown): Promise<unknown>;
  freeze: TrainerContext['freeze'];
  unfreeze: TrainerContext['unfreeze'];
  parameters: TrainerContext['parameters'];
  save: TrainerContext['save'];
}

/** The hyperparameter store as seen by one writer (`by`). */
export function hparamView(store: HyperparamStore, by: string): HyperparamAccess {
  return {
    get: (name, scope) => store.get(name, scope ?? {}),
    set: (name, value, options) => store.set(name, value, { ...(options ?? {}), by }),
    explain: (name, scope) => store.explain(name, scope ?? {}),
    has: (name, scope) => store.has(name, scope ?? {}),
    names: () => store.names(),
    groups: (name) => store.groups(name),
  };
}

/** The context one plugin's hooks receive: live views of the trainer, writes attributed to `self`. */
export function createContext(host: ContextHost, self: string): TrainerContext {
  const logger = host.logger(self);
  const find = (name: string): Plugin | undefined => {
    const exact = host.plugins.find((p) => p.name === name);
    if (exact) return exact;
    const current = currentPluginName(name);
    const renamed = current.deprecated ? host.plugins.find((p) => p.name === current.name) : undefined;
    if (renamed) logger.warn(deprecationMessage(name, current.name));
    return renamed;
  };
  return {
    get time() {
      return host.time;
    },
    get model() {
      return host.model;
    },
    get optimizer() {
      return host.optimizer;
    },
    logger,
    get plan() {
      return host.plan;
    },
    get history() {
      return host.history;
    },
    get stopReason() {
      return host.stopReason;
    },
    self,
    hparams: hparamView(host.store, self),
    metricDirections: host.metricDirections,
    freeze: (pattern) => host.freeze(pattern),
    unfreeze: (pattern) => host.unfreeze(pattern),
    parameters: () => host.parameters(),
    save: (dir) => host.save(dir),
    plugin<N extends keyof PluginApiMap>(name: N): PluginApiMap[N] {
      const found = find(name);
      if (!found) {
        throw new TensorloopError(
          'TL_PLUGIN_NOT_FOUND',
          `"${self}" asked for plugin ${describeValue(name)}, which is not registered (registered: ${
            host.plugins.map((p) => p.name).join(', ') || 'none'
          }). Add it to plugins: [...], or declare it in dependencies so this is caught at construction.`,
          { plugin: self },
        );
      }
      return found.api as PluginApiMap[N];
    },
    hasPlugin(name: string): boolean {
      return find(name) !== undefined;
    },
    async emit<E extends CustomEventName>(name: E, event: HookEvents[E]): Promise<void> {
      if (CORE_EVENTS.has(name) || !String(name).includes(':')) {
        throw new TensorloopError(
          'TL_EVENT_INVALID',
          `"${self}" tried to emit ${describeValue(name)}. Plugins may emit only namespaced events ("<namespace>:<event>") declared in HookEvents; core events are fired by the trainer.`,
          { plugin: self },
        );
      }
      await host.emit(name, event);
    },
  };
}
