import { describeValue } from '../describe-value.js';
import { TensorloopError } from '../errors.js';
import type { OptimizerType, ParamGroup, ParamGroupSpec, ParamMatcher } from './types.js';

export const DEFAULT_GROUP = 'default';
export const NO_DECAY_GROUP = 'no-decay';

/**
 * Weights that conventionally get no weight decay: biases, and the gamma/beta (and moving statistics)
 * of BatchNormalization and LayerNormalization, by the last component of the tfjs weight name.
 */
export const BIAS_AND_NORM = /(^|\/)([^/]*bias|gamma|beta|moving_mean|moving_variance)$/;

/** How a hyperparameter value is checked at construction and when a group is added. */
export type HparamRange = 'nonNegative' | 'unitInterval' | 'finite';

export function compileMatcher(match: ParamMatcher, where: string): (name: string) => boolean {
  if (typeof match === 'function') return match;
  if (match instanceof RegExp) {
    // A global or sticky regex keeps `lastIndex` between `test` calls; matching must be stateless.
    const re = new RegExp(match.source, match.flags.replace(/[gy]/g, ''));
    return (name) => re.test(name);
  }
  if (typeof match === 'string') {
    let re: RegExp | undefined;
    try {
      re = new RegExp(match);
    } catch {
      re = undefined; // not a regex source: exact name only
    }
    return (name) => name === match || re?.test(name) === true;
  }
  throw new TensorloopError(
    'TL_OPTION_INVALID',
    `${where}: \`match\` must be a RegExp, a string or a function (name) => boolean, got ${typeof match}.`,
  );
}

function checkRange(value: number, range: HparamRange): boolean {
  if (!Number.isFinite(value)) return false;
  if (range === 'nonNegative') return value >= 0;
  if (range === 'unitInterval') return value >= 0 && value < 1;
  return true;
}

const RANGE_TEXT: Record<HparamRange, string> = {
  nonNegative: 'a finite number >= 0',
  unitInterval: 'a number in [0, 1)',
  finite: 'a finite number',
};

export function validateHparam(name: string, value: unknown, range: HparamRange, where: string): number {
  if (typeof value !== 'number' || !checkRange(value, range)) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `${where}: \`${name}\` must be ${RANGE_TEXT[range]}, got ${describeValue(value)}. Pass ${RANGE_TEXT[range]}.`,
    );
  }
  return value;
}

/** Throws for option keys an optimizer factory does not know (a typo would otherwise be ignored). */
export function checkOptionKeys(opts: object, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(opts)) {
    if (!allowed.includes(key)) {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `${where}: unknown option \`${key}\`. Known options: ${allowed.join(', ')}.`,
      );
    }
  }
}

export interface GroupTableConfig {
  readonly type: OptimizerType;
  readonly defaults: Readonly<Record<string, number>>;
  readonly ranges: Readonly<Record<string, HparamRange>>;
  /** Cross-hyperparameter checks for one group (e.g. nesterov needs momentum > 0). */
  readonly checkGroup?: (hparams: Readonly<Record<string, number>>, where: string) => void;
}

class MutableGroup implements ParamGroup {
  index: number;
  readonly members: string[] = [];

  constructor(
    readonly name: string,
    index: number,
    readonly hparams: Record<string, number>,
    readonly matches: (name: string) => boolean,
  ) {
    this.index = index;
  }

  get variables(): readonly string[] {
    return this.members;
  }
}

/** Param groups and variable membership; the default group is always last. */
export class GroupTable {
  private list: MutableGroup[];
  private readonly byVariable = new Map<string, MutableGroup>();
  private bindOrder: readonly string[] | undefined;

  constructor(
    private readonly config: GroupTableConfig,
    specs: readonly ParamGroupSpec[],
  ) {
    const defaultGroup = new MutableGroup(DEFAULT_GROUP, 0, this.hparamsFor({}, 'default group'), () => true);
    this.list = [defaultGroup];
    for (const spec of specs) this.add(spec);
  }

  get groups(): readonly ParamGroup[] {
    return this.list;
  }

  get bound(): boolean {
    return this.bindOrder !== undefined;
  }

  get variableNames(): readonly string[] {
    return this.bindOrder ?? [];
  }

  private get defaultGroup(): MutableGroup {
    return this.list[this.list.length - 1]!;
  }

  bind(names: readonly string[]): void {
    if (this.bindOrder !== undefined) {
      const same = names.length === this.bindOrder.length && names.every((n, i) => n === this.bindOrder?.[i]);
      if (same) return;
      throw new TensorloopError(
        'TL_OPTIMIZER_INVALID',
        `${this.config.type}: bind() was already called with a different variable list. An optimizer serves one ` +
          'fixed, ordered variable list; create a new optimizer for another model.',
      );
    }
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) {
        throw new TensorloopError(
          'TL_OPTIMIZER_INVALID',
          `${this.config.type}: two variables are both named '${name}'. Names key optimizer state; give the ` +
            'layers unique names.',
        );
      }
      seen.add(name);
    }
    this.bindOrder = [...names];
    for (const name of names) {
      const group = this.list.find((g) => g.matches(name)) ?? this.defaultGroup;
      this.byVariable.set(name, group);
    }
    this.rebuildMembers();
  }

  add(spec: ParamGroupSpec): ParamGroup {
    if (spec === null || typeof spec !== 'object') {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `${this.config.type}: a param group must be an object like { match: /^dense_1\\//, lr: 1e-4 }.`,
      );
    }
    const index = this.list.length - 1;
    const name = spec.name ?? `group${index}`;
    const where = `${this.config.type} group '${name}'`;
    if (typeof name !== 'string' || name === '' || this.list.some((g) => g.name === name)) {
      throw new TensorloopError(
        'TL_OPTION_INVALID',
        `${where}: group names must be unique non-empty strings ('${DEFAULT_GROUP}' is reserved). ` +
          `Existing groups: ${this.list.map((g) => g.name).join(', ')}. Pick another name.`,
      );
    }
    const matches = compileMatcher(spec.match, where);
    const { name: _name, match: _match, ...rest } = spec;
    const group = new MutableGroup(name, index, this.hparamsFor(rest, where), matches);
    this.insertBeforeDefault(group);
    if (this.bindOrder !== undefined) {
      const defaultGroup = this.defaultGroup;
      for (const variable of this.bindOrder) {
        if (this.byVariable.get(variable) === defaultGroup && matches(variable)) {
          this.byVariable.set(variable, group);
        }
      }
      this.rebuildMembers();
    }
    return group;
  }

  groupOf(variableName: string): ParamGroup {
    return this.lookup(variableName);
  }

  /** The group of a bound variable; hot path of `applyGradients`. */
  lookup(variableName: string): MutableGroup {
    const group = this.byVariable.get(variableName);
    if (group === undefined) {
      throw new TensorloopError(
        'TL_OPTIMIZER_INVALID',
        `${this.config.type}: no bound variable is named '${variableName}'. ` +
          (this.bindOrder === undefined
            ? 'Call bind() with the trainer variable list first.'
            : `Known variables: ${this.bindOrder.join(', ')}.`),
      );
    }
    return group;
  }

  has(variableName: string): boolean {
    return this.byVariable.has(variableName);
  }

  /**
   * Applies saved groups: hyperparameters by group name, membership by variable name; a saved group
   * this table lacks (added at runtime) is recreated with its saved variables as its matcher.
   * Validate with `checkSaved` first: this does not throw half-way.
   */
  restore(
    saved: readonly {
      name: string;
      hparams: Readonly<Record<string, number>>;
      variables: readonly string[];
    }[],
  ) {
    for (const s of saved) {
      let group = this.list.find((g) => g.name === s.name);
      if (group === undefined) {
        const members = new Set(s.variables);
        group = new MutableGroup(s.name, 0, { ...this.config.defaults }, (n) => members.has(n));
        this.insertBeforeDefault(group);
      }
      for (const key of Object.keys(group.hparams)) {
        const value = s.hparams[key];
        if (typeof value === 'number') group.hparams[key] = value;
      }
      for (const variable of s.variables) this.byVariable.set(variable, group);
    }
    this.rebuildMembers();
  }

  /** Throws (changing nothing) when saved groups name unknown variables or carry invalid hparams. */
  checkSaved(saved: unknown, fail: (message: string) => never): void {
    if (!Array.isArray(saved)) fail('`meta.groups` must be an array.');
    for (const s of saved as unknown[]) {
      if (s === null || typeof s !== 'object') fail('each saved group must be an object.');
      const { name, hparams, variables } = s as Record<string, unknown>;
      if (
        typeof name !== 'string' ||
        hparams === null ||
        typeof hparams !== 'object' ||
        !Array.isArray(variables)
      ) {
        fail('each saved group needs { name: string, hparams: object, variables: string[] }.');
      }
      for (const v of variables as unknown[]) {
        if (typeof v !== 'string' || !this.byVariable.has(v)) {
          fail(
            `saved group '${name}' lists variable ${describeValue(v)}, which is not bound here. ` +
              `Bound variables: ${(this.bindOrder ?? []).join(', ')}.`,
          );
        }
      }
    }
  }

  private insertBeforeDefault(group: MutableGroup): void {
    this.list = [...this.list.slice(0, -1), group, this.defaultGroup];
    this.list.forEach((g, i) => {
      g.index = i;
    });
  }

  private rebuildMembers(): void {
    for (const g of this.list) g.members.length = 0;
    for (const variable of this.bindOrder ?? []) this.byVariable.get(variable)?.members.push(variable);
  }

  private hparamsFor(overrides: Record<string, unknown>, where: string): Record<string, number> {
    const hparams: Record<string, number> = { ...this.config.defaults };
    for (const [key, value] of Object.entries(overrides)) {
      if (value === undefined) continue;
      const range = this.config.ranges[key];
      if (range === undefined) {
        throw new TensorloopError(
          'TL_OPTION_INVALID',
          `${where}: unknown hyperparameter \`${key}\` for ${this.config.type}. ` +
            `Known: ${Object.keys(this.config.ranges).join(', ')}.`,
        );
      }
      hparams[key] = validateHparam(key, value, range, where);
    }
    this.config.checkGroup?.(hparams, where);
    return hparams;
  }
}
