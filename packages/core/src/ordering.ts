import { TensorloopError } from './errors.js';
import type { Plugin } from './plugin.js';
import { currentPluginName } from './plugin-aliases.js';
import { shownValue } from './shown-value.js';

const TIER_RANK = { pre: 0, normal: 1, post: 2 } as const;

interface Edge {
  readonly from: number;
  readonly to: number;
  /** Why `from` must run before `to`, for error messages. */
  readonly why: string;
}

function tierOf(plugin: Plugin): keyof typeof TIER_RANK {
  return plugin.enforce ?? 'normal';
}

function tierLabel(plugin: Plugin): string {
  return plugin.enforce ? `"${plugin.name}" (enforce: '${plugin.enforce}')` : `"${plugin.name}" (no enforce)`;
}

function checkNames(plugins: readonly Plugin[]): Map<string, number> {
  if (!Array.isArray(plugins as unknown)) {
    throw new TensorloopError(
      'TL_PLUGIN_INVALID',
      `plugins must be an array of plugins, e.g. plugins: [earlyStopping()]; got ${shownValue(plugins)}.`,
    );
  }
  const index = new Map<string, number>();
  plugins.forEach((plugin, i) => {
    if (typeof plugin !== 'object' || plugin === null || typeof plugin.name !== 'string' || !plugin.name) {
      throw new TensorloopError(
        'TL_PLUGIN_INVALID',
        `plugins[${i}] is not a plugin: expected an object with a non-empty string "name" (a plugin factory's result, e.g. earlyStopping()). Did you pass the factory itself instead of calling it?`,
      );
    }
    const earlier = index.get(plugin.name);
    if (earlier !== undefined) {
      throw new TensorloopError(
        'TL_PLUGIN_DUPLICATE',
        `Two plugins are named "${plugin.name}" (plugins[${earlier}] and plugins[${i}]). A name identifies a plugin in ordering, checkpoints and ctx.plugin(); give each instance a distinct name (plugin factories take a { name } option).`,
        { plugin: plugin.name },
      );
    }
    index.set(plugin.name, i);
  });
  return index;
}

function collectEdges(plugins: readonly Plugin[], index: Map<string, number>): Edge[] {
  const edges: Edge[] = [];
  plugins.forEach((plugin, i) => {
    for (const dep of plugin.dependencies ?? []) {
      const j = index.get(dep) ?? index.get(currentPluginName(dep).name);
      if (j === undefined) {
        throw new TensorloopError(
          'TL_PLUGIN_MISSING',
          `Plugin "${plugin.name}" depends on "${dep}", which is not registered. Add it to plugins: [...] (its position does not matter: dependencies always run first).`,
          { plugin: plugin.name },
        );
      }
      edges.push({ from: j, to: i, why: `"${plugin.name}" depends on "${dep}"` });
    }
    for (const other of plugin.after ?? []) {
      const j = index.get(other) ?? index.get(currentPluginName(other).name);
      if (j !== undefined) edges.push({ from: j, to: i, why: `"${plugin.name}" runs after "${other}"` });
    }
    for (const other of plugin.before ?? []) {
      const j = index.get(other) ?? index.get(currentPluginName(other).name);
      if (j !== undefined) edges.push({ from: i, to: j, why: `"${plugin.name}" runs before "${other}"` });
    }
  });
  // Tiers as edges, so that a constraint contradicting a tier shows up as a cycle with its reason.
  plugins.forEach((a, i) => {
    plugins.forEach((b, j) => {
      const ta = tierOf(a);
      const tb = tierOf(b);
      if (TIER_RANK[ta] < TIER_RANK[tb]) {
        edges.push({ from: i, to: j, why: `tiers put ${tierLabel(a)} before ${tierLabel(b)}` });
      }
    });
  });
  return edges;
}

function findCycle(remaining: Set<number>, edges: readonly Edge[]): Edge[] {
  const out = new Map<number, Edge[]>();
  for (const e of edges) {
    if (remaining.has(e.from) && remaining.has(e.to)) {
      const list = out.get(e.from) ?? [];
      list.push(e);
      out.set(e.from, list);
    }
  }
  const state = new Map<number, 'open' | 'done'>();
  const stack: Edge[] = [];
  const visit = (node: number): Edge[] | undefined => {
    state.set(node, 'open');
    for (const e of out.get(node) ?? []) {
      const s = state.get(e.to);
      if (s === 'open') {
        const start = stack.findIndex((x) => x.from === e.to);
        return [...stack.slice(start === -1 ? stack.length : start), e];
      }
      if (s === undefined) {
        stack.push(e);
        const found = visit(e.to);
        if (found) return found;
        stack.pop();
      }
    }
    state.set(node, 'done');
    return undefined;
  };
  for (const node of remaining) {
    if (!state.has(node)) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return [];
}

/**
 * Resolve the plugin order (DESIGN §6): registration order, refined by tier and by declared
 * `before` / `after` / `dependencies`. Stable: among plugins free to go, the earliest registered goes
 * first. Throws on duplicates, missing dependencies and cycles, naming the plugins and the fix.
 */
export function orderPlugins<P extends Plugin>(plugins: readonly P[]): P[] {
  const index = checkNames(plugins);
  const edges = collectEdges(plugins, index);
  const indegree = new Array<number>(plugins.length).fill(0);
  const successors: number[][] = plugins.map(() => []);
  for (const e of edges) {
    indegree[e.to]! += 1;
    successors[e.from]!.push(e.to);
  }
  const ready: number[] = [];
  indegree.forEach((d, i) => {
    if (d === 0) ready.push(i);
  });
  const order: number[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const next = ready.shift()!;
    order.push(next);
    for (const s of successors[next]!) {
      indegree[s]! -= 1;
      if (indegree[s] === 0) ready.push(s);
    }
  }
  if (order.length < plugins.length) {
    const placed = new Set(order);
    const remaining = new Set(plugins.map((_, i) => i).filter((i) => !placed.has(i)));
    const cycle = findCycle(remaining, edges);
    const path = cycle.map((e) => plugins[e.from]!.name);
    if (cycle.length > 0) path.push(plugins[cycle[cycle.length - 1]!.to]!.name);
    throw new TensorloopError(
      'TL_PLUGIN_CYCLE',
      `Plugins cannot be ordered: ${path.join(' → ')} is a cycle (${cycle.map((e) => e.why).join('; ')}). Remove or reverse one of these constraints.`,
      { plugin: path[0] },
    );
  }
  return order.map((i) => plugins[i]!);
}
