import { describeValue } from './describe-value.js';
import { TensorloopError } from './errors.js';
import { shownValue } from './shown-value.js';

/** `set` writers own a value (one per value and group); `multiply` writers compose as factors. */
export type HparamWriterMode = 'set' | 'multiply';

export interface HparamWriter {
  /** The plugin's name (its npm name). `'user'` is reserved for direct writes by user code. */
  readonly plugin: string;
  readonly name: string;
  readonly mode: HparamWriterMode;
  /** Groups it writes; all groups (present and future) when omitted. */
  readonly groups?: readonly string[];
}

export interface HparamScope {
  /**
   * The param group of a per-group value (`'lr'`, `'beta1'`, ...). Omitted: `get`/`explain` read the
   * `'default'` group; `set` writes every group the writer covers.
   */
  group?: string;
}

export interface HparamDefineOptions extends HparamScope {
  description?: string;
}

export interface HparamSetOptions extends HparamScope {
  /** The writing plugin (declared with `declareWriter`), or `'user'`. */
  by: string;
}

export interface HparamExplanation {
  readonly name: string;
  readonly group: string | undefined;
  /** The effective value `get` returns. */
  readonly value: number;
  readonly base: number;
  /** The latest `set` write, which replaces the base. */
  readonly set: { readonly value: number; readonly by: string } | undefined;
  /** Factors of `multiply` writers, in registration order. */
  readonly factors: readonly { readonly plugin: string; readonly factor: number }[];
  readonly description: string | undefined;
  /** e.g. `lr(group head) = 3e-4 = 1e-3 (set by @tensorloop/lr-schedules) × 0.3 (multiply by plateau)` */
  readonly text: string;
}

/** JSON for checkpoints. */
export interface HyperparamStoreState {
  readonly format: 'tensorloop-hparams@1';
  readonly entries: readonly {
    readonly name: string;
    readonly group?: string;
    readonly base: number;
    readonly set?: { readonly value: number; readonly by: string };
    /** Factor per multiply-writer plugin. */
    readonly factors: Readonly<Record<string, number>>;
  }[];
}

/** The param-group shape the store reads and writes (structurally an optimizer's `ParamGroup`). */
export interface HparamGroupLike {
  readonly name: string;
  readonly hparams: Record<string, number>;
}

export const USER_WRITER = 'user';
const DEFAULT_GROUP = 'default';
const STATE_FORMAT = 'tensorloop-hparams@1';
/** Key of the single entry of a group-less value. */
const NO_GROUP = '';

interface Entry {
  readonly name: string;
  readonly group: string | undefined;
  base: number;
  description: string | undefined;
  set: { value: number; by: string } | undefined;
  /** By plugin; only declared multiply writers contribute (a restored factor waits for its writer). */
  readonly factors: Map<string, number>;
  /** Cached effective value. */
  value: number;
}

/** Formats like the docs write hyperparameters: 3e-4, 0.3, 1e-3. */
export function formatHparam(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  const rounded = Number(value.toPrecision(6));
  const magnitude = Math.abs(rounded);
  return magnitude < 1e-2 || magnitude >= 1e5 ? rounded.toExponential().replace('e+', 'e') : String(rounded);
}

function finite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `${what} must be a finite number, got ${shownValue(value)}.`,
    );
  }
  return value;
}

function overlaps(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  return a.some((g) => b.includes(g));
}

function covers(writer: HparamWriter, group: string | undefined): boolean {
  return writer.groups === undefined || group === undefined || writer.groups.includes(group);
}

const describeGroups = (groups: readonly string[] | undefined): string =>
  groups === undefined ? 'all groups' : `groups ${groups.join(', ')}`;

/**
 * Every hyperparameter of a run (DESIGN §7): optimizer hyperparameters per param group and user
 * values, with declared writers. Effective value = (latest `set`, else base) × the factors of the
 * `multiply` writers in registration order. Values are cached on write, so `get` is a map lookup.
 */
export class HyperparamStore {
  private readonly entries = new Map<string, Map<string, Entry>>();
  private readonly writerList: HparamWriter[] = [];
  private changes = 0;

  /** Increments on every change; a reader can skip re-syncing while it stays the same. */
  get version(): number {
    return this.changes;
  }

  /**
   * Registers a base value. Defining an existing value again replaces its base (and description)
   * and keeps what writers set.
   */
  define(name: string, value: number, options: HparamDefineOptions = {}): void {
    if (typeof name !== 'string' || name === '') {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `A hyperparameter name must be a non-empty string, got ${describeValue(name)}.`,
      );
    }
    const group = options.group;
    if (group !== undefined && (typeof group !== 'string' || group === '')) {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `Hyperparameter '${name}': a group must be a non-empty string.`,
      );
    }
    const base = finite(value, `Hyperparameter '${name}'${group === undefined ? '' : ` (group ${group})`}`);
    const byGroup = this.entries.get(name);
    if (byGroup !== undefined && byGroup.size > 0) {
      const grouped = !byGroup.has(NO_GROUP);
      if (grouped !== (group !== undefined)) {
        throw new TensorloopError(
          'TL_HPARAM_CONFLICT',
          `Hyperparameter '${name}' is already defined ${grouped ? 'per param group' : 'without a group'}; ` +
            `define it ${grouped ? 'with { group }' : 'without a group'} as well, or pick another name.`,
        );
      }
    }
    const existing = byGroup?.get(group ?? NO_GROUP);
    if (existing !== undefined) {
      existing.base = base;
      if (options.description !== undefined) existing.description = options.description;
      this.recompute(existing);
    } else {
      const entry: Entry = {
        name,
        group,
        base,
        description: options.description,
        set: undefined,
        factors: new Map(),
        value: base,
      };
      this.groupMap(name).set(group ?? NO_GROUP, entry);
      this.recompute(entry);
    }
    this.changes++;
  }

  /** Defines every hyperparameter of every group that is not defined yet (e.g. `optimizer.groups`). */
  defineGroups(groups: readonly HparamGroupLike[]): void {
    for (const group of groups) {
      for (const [name, value] of Object.entries(group.hparams)) {
        if (!this.has(name, { group: group.name })) this.define(name, value, { group: group.name });
      }
    }
  }

  /** Writes the effective value of each defined hyperparameter into the groups' `hparams`. */
  applyToGroups(groups: readonly HparamGroupLike[]): void {
    for (const group of groups) {
      for (const name of Object.keys(group.hparams)) {
        const entry = this.entries.get(name)?.get(group.name);
        if (entry !== undefined) group.hparams[name] = entry.value;
      }
    }
  }

  has(name: string, scope: HparamScope = {}): boolean {
    return this.entries.get(name)?.has(scope.group ?? NO_GROUP) === true;
  }

  /**
   * Declares that `plugin` writes `name`. Two `set` writers of the same value (overlapping groups)
   * are refused; `multiply` writers compose.
   */
  declareWriter(writer: HparamWriter): void {
    const { plugin, name, mode, groups } = writer;
    if (typeof plugin !== 'string' || plugin === '' || plugin === USER_WRITER) {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `declareWriter: \`plugin\` must be the plugin's name ('${USER_WRITER}' is reserved for user code), got ${describeValue(plugin)}.`,
      );
    }
    if (mode !== 'set' && mode !== 'multiply') {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `declareWriter (${plugin}): \`mode\` must be 'set' or 'multiply', got ${describeValue(mode)}.`,
        { plugin },
      );
    }
    if (typeof name !== 'string' || name === '') {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `declareWriter (${plugin}): \`name\` must be a non-empty string.`,
        {
          plugin,
        },
      );
    }
    const same = this.writerList.find((w) => w.plugin === plugin && w.name === name);
    if (same !== undefined && same.mode !== mode) {
      throw new TensorloopError(
        'TL_HPARAM_CONFLICT',
        `${plugin} declares both '${same.mode}' and '${mode}' writes of '${name}'. Declare one mode per value.`,
        { plugin },
      );
    }
    if (mode === 'set') {
      const rival = this.writerList.find(
        (w) => w.name === name && w.mode === 'set' && w.plugin !== plugin && overlaps(w.groups, groups),
      );
      if (rival !== undefined) {
        throw new TensorloopError(
          'TL_HPARAM_CONFLICT',
          `Both ${rival.plugin} (${describeGroups(rival.groups)}) and ${plugin} (${describeGroups(groups)}) ` +
            `declare a 'set' writer of '${name}'; only one plugin may set a value. Remove one of them, give ` +
            "them disjoint `groups`, or make one a 'multiply' writer that scales the other's value.",
          { plugin },
        );
      }
    }
    const declared = (g: readonly string[] | undefined): HparamWriter =>
      g === undefined ? { plugin, name, mode } : { plugin, name, mode, groups: [...g] };
    if (same !== undefined) {
      // Declaring again widens the groups (idempotent for the same declaration).
      const merged =
        same.groups === undefined || groups === undefined
          ? undefined
          : [...new Set([...same.groups, ...groups])];
      this.writerList[this.writerList.indexOf(same)] = declared(merged);
    } else {
      this.writerList.push(declared(groups));
    }
    for (const entry of this.entries.get(name)?.values() ?? []) this.recompute(entry);
    this.changes++;
  }

  /**
   * Forgets every writer declaration of `plugin` (a plugin removed between fits) and what it wrote:
   * its `set` values give way to the base again and its factors stop applying.
   */
  removeWriters(plugin: string): void {
    if (!this.writerList.some((w) => w.plugin === plugin)) return;
    this.writerList.splice(0, this.writerList.length, ...this.writerList.filter((w) => w.plugin !== plugin));
    for (const byGroup of this.entries.values()) {
      for (const entry of byGroup.values()) {
        if (entry.set?.by === plugin) entry.set = undefined;
        entry.factors.delete(plugin);
        this.recompute(entry);
      }
    }
    this.changes++;
  }

  /** Declared writers, in registration order (of one value when `name` is given). */
  writers(name?: string): readonly HparamWriter[] {
    return name === undefined ? [...this.writerList] : this.writerList.filter((w) => w.name === name);
  }

  /**
   * Writes a value. A `set` writer (or `'user'`) replaces the base; a `multiply` writer sets its
   * factor. Without `group`, a per-group value is written in every group the writer covers.
   */
  set(name: string, value: number, options: HparamSetOptions): void {
    const by = options?.by;
    const writer =
      by === USER_WRITER ? undefined : this.writerList.find((w) => w.plugin === by && w.name === name);
    if (by !== USER_WRITER && writer === undefined) {
      throw new TensorloopError(
        'TL_PLUGIN_INVALID',
        `${String(by)} wrote hyperparameter '${name}' without declaring it. Declare it first: ` +
          `hparams.declareWriter({ plugin: '${String(by)}', name: '${name}', mode: 'set' | 'multiply' }) ` +
          `(user code writes with { by: '${USER_WRITER}' }).`,
        typeof by === 'string' ? { plugin: by } : {},
      );
    }
    const v = finite(value, `Hyperparameter '${name}' written by ${by}`);
    const targets = this.targets(name, options.group, writer);
    for (const entry of targets) {
      if (writer?.mode === 'multiply') entry.factors.set(writer.plugin, v);
      else entry.set = { value: v, by };
      this.recompute(entry);
    }
    this.changes++;
  }

  /** The effective value: (latest set, else base) × multiply factors. */
  get(name: string, scope: HparamScope = {}): number {
    const byGroup = this.entries.get(name);
    const entry = byGroup?.get(scope.group ?? NO_GROUP);
    if (entry !== undefined) return entry.value;
    return this.resolve(name, scope.group).value;
  }

  explain(name: string, scope: HparamScope = {}): HparamExplanation {
    const entry = this.resolve(name, scope.group);
    const factors = this.multiplyWriters(entry).map((w) => ({
      plugin: w.plugin,
      factor: entry.factors.get(w.plugin)!,
    }));
    const label = entry.group === undefined ? name : `${name}(group ${entry.group})`;
    const terms = [
      entry.set === undefined
        ? `${formatHparam(entry.base)} (base)`
        : `${formatHparam(entry.set.value)} (set by ${entry.set.by})`,
      ...factors.map((f) => `${formatHparam(f.factor)} (multiply by ${f.plugin})`),
    ];
    const text =
      terms.length === 1
        ? `${label} = ${terms[0]}`
        : `${label} = ${formatHparam(entry.value)} = ${terms.join(' × ')}`;
    return {
      name,
      group: entry.group,
      value: entry.value,
      base: entry.base,
      set: entry.set === undefined ? undefined : { ...entry.set },
      factors,
      description: entry.description,
      text,
    };
  }

  /** Names of all defined values. */
  names(): string[] {
    return [...this.entries.keys()].filter((n) => (this.entries.get(n)?.size ?? 0) > 0);
  }

  /** Groups with at least one value (of `name` when given), in definition order. */
  groups(name?: string): string[] {
    const out = new Set<string>();
    for (const [n, byGroup] of this.entries) {
      if (name !== undefined && n !== name) continue;
      for (const entry of byGroup.values()) if (entry.group !== undefined) out.add(entry.group);
    }
    return [...out];
  }

  getState(): HyperparamStoreState {
    const entries: HyperparamStoreState['entries'][number][] = [];
    for (const byGroup of this.entries.values()) {
      for (const e of byGroup.values()) {
        entries.push({
          name: e.name,
          ...(e.group === undefined ? {} : { group: e.group }),
          base: e.base,
          ...(e.set === undefined ? {} : { set: { ...e.set } }),
          factors: Object.fromEntries(e.factors),
        });
      }
    }
    return { format: STATE_FORMAT, entries };
  }

  /**
   * Restores what writers set (set values and factors). A value defined here keeps its current base
   * (configuration wins); a value not defined yet (a group added at runtime) is defined with the
   * saved base. Validates everything before changing anything.
   */
  setState(state: HyperparamStoreState): void {
    const fail = (message: string): never => {
      throw new TensorloopError('TL_CHECKPOINT_INVALID', `Hyperparameter state: ${message}`);
    };
    if (
      state === null ||
      typeof state !== 'object' ||
      state.format !== STATE_FORMAT ||
      !Array.isArray(state.entries)
    ) {
      fail(`expected { format: '${STATE_FORMAT}', entries: [...] } as returned by getState().`);
    }
    for (const e of state.entries) {
      if (e === null || typeof e !== 'object' || typeof e.name !== 'string' || !Number.isFinite(e.base)) {
        fail('each entry needs { name: string, base: number, factors: object }.');
      }
      if (e.group !== undefined && typeof e.group !== 'string')
        fail(`entry '${e.name}' has a non-string group.`);
      if (e.set !== undefined && (!Number.isFinite(e.set.value) || typeof e.set.by !== 'string')) {
        fail(`entry '${e.name}' has an invalid set value.`);
      }
      if (e.factors === null || typeof e.factors !== 'object') fail(`entry '${e.name}' has invalid factors.`);
      for (const f of Object.values(e.factors))
        if (!Number.isFinite(f)) fail(`entry '${e.name}' has a non-finite factor.`);
      const byGroup = this.entries.get(e.name);
      if (byGroup !== undefined && byGroup.size > 0 && byGroup.has(NO_GROUP) !== (e.group === undefined)) {
        fail(
          `'${e.name}' is ${e.group === undefined ? 'group-less' : 'per group'} in the state but not here.`,
        );
      }
    }
    for (const e of state.entries) {
      if (!this.has(e.name, { group: e.group }))
        this.define(e.name, e.base, e.group === undefined ? {} : { group: e.group });
      const entry = this.entries.get(e.name)!.get(e.group ?? NO_GROUP)!;
      entry.set = e.set === undefined ? undefined : { value: e.set.value, by: e.set.by };
      entry.factors.clear();
      for (const [plugin, factor] of Object.entries(e.factors)) entry.factors.set(plugin, factor);
      this.recompute(entry);
    }
    this.changes++;
  }

  private groupMap(name: string): Map<string, Entry> {
    let byGroup = this.entries.get(name);
    if (byGroup === undefined) {
      byGroup = new Map();
      this.entries.set(name, byGroup);
    }
    return byGroup;
  }

  private multiplyWriters(entry: Entry): HparamWriter[] {
    return this.writerList.filter(
      (w) =>
        w.name === entry.name &&
        w.mode === 'multiply' &&
        covers(w, entry.group) &&
        entry.factors.has(w.plugin),
    );
  }

  private recompute(entry: Entry): void {
    let value = entry.set === undefined ? entry.base : entry.set.value;
    for (const w of this.multiplyWriters(entry)) value *= entry.factors.get(w.plugin)!;
    entry.value = value;
  }

  private unknown(name: string): never {
    const known = this.names();
    throw new TensorloopError(
      'TL_HPARAM_UNKNOWN',
      `Unknown hyperparameter '${name}'. Known: ${known.length === 0 ? '(none)' : known.join(', ')}. ` +
        'Define user values with the trainer option (or hparams.define) before reading them.',
    );
  }

  /** The entry `get`/`explain` read: an explicit group, the group-less value, or the default group. */
  private resolve(name: string, group: string | undefined): Entry {
    const byGroup = this.entries.get(name);
    if (byGroup === undefined || byGroup.size === 0) return this.unknown(name);
    const grouped = !byGroup.has(NO_GROUP);
    if (!grouped && group !== undefined) {
      throw new TensorloopError(
        'TL_HPARAM_UNKNOWN',
        `Hyperparameter '${name}' has no param groups; read it without { group } (asked for group '${group}').`,
      );
    }
    const entry = byGroup.get(group ?? (grouped ? DEFAULT_GROUP : NO_GROUP));
    if (entry === undefined) {
      throw new TensorloopError(
        'TL_HPARAM_UNKNOWN',
        `Hyperparameter '${name}' has no group '${group ?? DEFAULT_GROUP}'. ` +
          `Its groups: ${this.groups(name).join(', ')}. Pass one of them as { group }.`,
      );
    }
    return entry;
  }

  /** The entries a write reaches. */
  private targets(name: string, group: string | undefined, writer: HparamWriter | undefined): Entry[] {
    const byGroup = this.entries.get(name);
    if (byGroup === undefined || byGroup.size === 0) return this.unknown(name);
    if (byGroup.has(NO_GROUP) || group !== undefined) {
      const entry = this.resolve(name, group);
      if (writer !== undefined && !covers(writer, entry.group)) {
        throw new TensorloopError(
          'TL_PLUGIN_INVALID',
          `${writer.plugin} wrote '${name}' in group '${entry.group}' but declared only ${describeGroups(writer.groups)}. ` +
            'Add the group to its declareWriter({ groups }).',
          { plugin: writer.plugin },
        );
      }
      return [entry];
    }
    const all = [...byGroup.values()];
    return writer === undefined ? all : all.filter((e) => covers(writer, e.group));
  }
}
