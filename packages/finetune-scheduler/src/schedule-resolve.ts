import { invalidSchedule } from './errors.js';
import type { ParsedPhase, Phase } from './schedule-types.js';

/** A pattern as FTS matches it: an exact name, else a regex anchored at the start (`re.match`). */
function matcherOf(pattern: string, depth: number): (name: string) => boolean {
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${pattern})`);
  } catch (cause) {
    invalidSchedule(
      `The parameter or regex '${pattern}' specified in phase ${depth} is neither a weight name nor a valid regex (${(cause as Error).message}). Escape regex characters or give the exact name.`,
    );
  }
  return (name) => re.test(name);
}

function sample(names: readonly string[]): string {
  return `${names.slice(0, 8).join(', ')}${names.length > 8 ? `, … (${names.length} in all)` : ''}`;
}

/** The weights of one phase: each entry expanded in model weight order, entries in the order given. */
function expandPhase(phase: ParsedPhase, names: readonly string[], known: ReadonlySet<string>): string[] {
  const params: string[] = [];
  for (const pattern of phase.patterns) {
    if (known.has(pattern)) {
      params.push(pattern);
      continue;
    }
    const matches = names.filter(matcherOf(pattern, phase.depth));
    if (matches.length === 0) {
      invalidSchedule(
        `The parameter or regex '${pattern}' specified in phase ${phase.depth} of the provided explicit schedule did not match any named parameter in the model. Weight names (matched from the start; '.' is a regex wildcard): ${sample(names)}.`,
      );
    }
    params.push(...matches);
  }
  return params;
}

export interface ResolvedSchedule {
  readonly phases: readonly Phase[];
  readonly warnings: readonly string[];
  readonly infos: readonly string[];
}

/**
 * Matches every phase's `params` against the model's weight names (the trainer's fixed order), and
 * checks that phases are disjoint. Weights in no phase stay frozen for the whole run: a warning
 * (FTS is silent about them).
 */
export function resolveSchedule(
  parsed: readonly ParsedPhase[],
  names: readonly string[],
  maxDepth: number,
  baseMaxLr: number,
): ResolvedSchedule {
  const known = new Set(names);
  const owner = new Map<string, number>();
  const repeated = new Map<string, Set<number>>();
  const phases = parsed.map((p): Phase => {
    const params = expandPhase(p, names, known);
    for (const name of params) {
      const first = owner.get(name);
      if (first === undefined) owner.set(name, p.depth);
      else repeated.set(name, new Set([...(repeated.get(name) ?? [first]), p.depth]));
    }
    return {
      depth: p.depth,
      params,
      maxTransitionEpoch: p.maxTransitionEpoch,
      lr: p.depth === 0 ? undefined : (p.lr ?? baseMaxLr),
      newOptimizer: p.newOptimizer,
      newLrSchedule:
        p.newLrSchedule === undefined
          ? undefined
          : {
              every: p.newLrSchedule.every,
              total: p.newLrSchedule.total,
              fn: typeof p.newLrSchedule.fn === 'string' ? p.newLrSchedule.fn : 'function',
              ...(p.newLrSchedule.args === undefined ? {} : { args: p.newLrSchedule.args }),
            },
    };
  });
  if (repeated.size > 0) {
    const list = [...repeated].map(([name, at]) => `${name} (phases ${[...at].join(', ')})`);
    invalidSchedule(
      `Phases are not disjoint. The following parameters are specified in multiple phases: ${list.join(', ')}. Each weight may be thawed by one phase only (a regex can also repeat a name listed in the same phase).`,
    );
  }
  const warnings: string[] = [];
  const infos: string[] = [];
  const unscheduled = names.filter((n) => !owner.has(n));
  if (unscheduled.length > 0) {
    warnings.push(
      `${unscheduled.length} weight${unscheduled.length === 1 ? ' is' : 's are'} in no phase and stay frozen for the whole run: ${sample(unscheduled)}. Add them to a phase if they should train.`,
    );
  }
  const beyond = phases.slice(maxDepth + 1).flatMap((p) => p.params);
  if (beyond.length > 0) {
    infos.push(
      `maxDepth ${maxDepth}: phases ${maxDepth + 1}–${phases.length - 1} never run, so ${beyond.length} weight${beyond.length === 1 ? ' stays' : 's stay'} frozen.`,
    );
  }
  return { phases, warnings, infos };
}
