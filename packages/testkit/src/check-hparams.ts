import type { HyperparamWriteDeclaration } from '@tensorloop/core';
import type { HparamWrite } from './instrument.js';
import type { Kit } from './kit-options.js';
import { type CheckResult, checkResult } from './report.js';

const scope = (w: { name: string; group?: string | undefined }) =>
  `'${w.name}'${w.group === undefined ? '' : ` (group ${w.group})`}`;

const declaration = (d: HyperparamWriteDeclaration) =>
  `${d.name} (${d.mode}${d.groups ? `, groups ${d.groups.join(', ')}` : ''})`;

/** Declared hyperparameter writes equal the actual ones: nothing undeclared, and what is declared is written. */
export async function checkHparams(kit: Kit): Promise<CheckResult> {
  const start = performance.now();
  const main = await kit.main();
  const declared = main.plugin.hparams ?? [];
  const writes: HparamWrite[] = kit.runs.flatMap((r) => r.instrument.writes);
  const problems: string[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const w of writes.filter((x) => x.undeclared)) {
    const key = `${w.name}|${w.group}|${w.hook}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const known = declared.find((d) => d.name === w.name);
    problems.push(
      known
        ? `it wrote ${scope(w)} in ${w.hook}, but declares '${w.name}' only for groups ${known.groups?.join(', ')}; core refuses the write (TL_PLUGIN_INVALID) and the fit fails. Add the group to its hparams declaration.`
        : `it wrote ${scope(w)} in ${w.hook} (epoch ${w.epoch}, step ${w.step}) without declaring it; core refuses the write (TL_PLUGIN_INVALID) and the fit fails. Declare it: hparams: [{ name: '${w.name}', mode: 'set' }] (or 'multiply' for a factor).`,
    );
  }
  const other = writes.filter((x) => !x.undeclared && x.refused !== undefined);
  for (const w of other.slice(0, 3))
    problems.push(`core refused its write of ${scope(w)} in ${w.hook}: ${w.refused}`);
  const store = main.run.trainer.hparams;
  for (const d of declared) {
    if (writes.some((w) => w.name === d.name && w.refused === undefined)) continue;
    const text = store.names().includes(d.name)
      ? `it declares ${declaration(d)} but never wrote it in these runs`
      : `it declares ${declaration(d)}, which this trainer does not have (its values: ${store.names().join(', ')}): a declaration for other optimizers, never written here`;
    if (kit.options.hparams?.requireWrites) problems.push(text);
    else notes.push(text);
  }
  const written = [...new Set(writes.filter((w) => w.refused === undefined).map((w) => w.name))];
  const hooks = [...new Set(writes.filter((w) => w.refused === undefined).map((w) => w.hook))];
  return checkResult('hparams', start, {
    problems,
    notes,
    summary:
      declared.length === 0 && writes.length === 0
        ? 'declares no hyperparameter writes and makes none'
        : problems.length === 0
          ? `declares ${declared.map(declaration).join(', ')}; wrote ${written.join(', ') || 'nothing'} (${writes.length} writes, in ${hooks.join(', ') || 'no hook'})`
          : 'declared hyperparameter writes differ from the actual ones',
  });
}

function budgetOf(kit: Kit, hook: string): number | undefined {
  const b = kit.options.timing?.budgetMs;
  return typeof b === 'number' ? b : b?.[hook];
}

/** Time per call of each hook in the main run, against a budget when one is given. */
export async function checkTiming(kit: Kit): Promise<CheckResult> {
  const start = performance.now();
  const main = await kit.main();
  const timings = main.instrument.hookTimings();
  const problems: string[] = [];
  for (const t of timings) {
    const budget = budgetOf(kit, t.hook);
    if (budget !== undefined && t.meanMs > budget) {
      problems.push(
        `${t.hook} took ${t.meanMs.toFixed(2)} ms per call on average (max ${t.maxMs.toFixed(2)}, ${t.calls} calls), over its budget of ${budget} ms`,
      );
    }
  }
  const steps = main.run.trainer.time.step || 1;
  const total = timings.reduce((sum, t) => sum + t.totalMs, 0);
  const slowest = timings
    .slice(0, 3)
    .map((t) => `${t.hook} ${t.meanMs.toFixed(2)} ms/call (max ${t.maxMs.toFixed(2)})`);
  const budget = kit.options.timing?.budgetMs;
  return checkResult('timing', start, {
    problems,
    notes: budget === undefined ? ['no budget given (timing: { budgetMs }): reported only'] : [],
    summary:
      timings.length === 0
        ? 'no hooks'
        : `${(total / steps).toFixed(3)} ms per step in its hooks; ${slowest.join(', ')}`,
  });
}
