import * as tf from '@tensorflow/tfjs';
import { HOOK_KINDS, type Plugin } from '@tensorloop/core';
import { checkHparams, checkTiming } from './check-hparams.js';
import { checkError, checkSkipBatch, checkStop } from './check-interference.js';
import { checkLeaks, checkRefit } from './check-memory.js';
import { checkResume } from './check-resume.js';
import { checkParseState, checkState } from './check-state.js';
import { type CheckOptions, enabled, type Kit } from './kit-options.js';
import { describeError, type KitRunOutcome, kitRun, releasePlugin, type Subject } from './kit-run.js';
import { loadPlugin, type PluginUnderTest } from './plugin-source.js';
import { type CheckName, type CheckResult, checkResult, makeReport, type PluginReport } from './report.js';
import type { ResumeOutcome } from './resume-contract.js';
import { buildRun, resolveSetup } from './setup.js';

/** An npm package name, optionally followed by `:<what>` (`@tensorloop/lr-schedules:plateau`). */
const NPM_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*(:\S+)?$/;

function hookList(plugin: Plugin): string {
  const kinds = HOOK_KINDS as Readonly<Record<string, string>>;
  const hooks = Object.keys(plugin).filter(
    (k) => k in kinds || /^on[A-Z]/.test(k) || k.includes(':') || /^transform[A-Z]/.test(k),
  );
  return hooks.map((h) => `${h} (${kinds[h] ?? 'emit'})`).join(', ') || 'none';
}

function loadResult(start: number, plugin: Plugin, label: string): CheckResult {
  const notes: string[] = [];
  if (!NPM_NAME.test(plugin.name)) {
    notes.push(
      `name '${plugin.name}' is not an npm package name (or '<package>:<what>'): the name is the checkpoint key, the dependency key and the prefix of its messages; use the package's name`,
    );
  }
  const parts = [
    `'${plugin.name}'${plugin.version ? ` ${plugin.version}` : ''} from ${label}`,
    `hooks: ${hookList(plugin)}`,
  ];
  if (plugin.enforce) parts.push(`enforce: ${plugin.enforce}`);
  return checkResult('load', start, { summary: parts.join('; '), notes });
}

type Check = (kit: Kit) => Promise<CheckResult>;

const IN_PROCESS: readonly [Exclude<CheckName, 'load' | 'resume'>, Check][] = [
  ['leaks', checkLeaks],
  ['stop', checkStop],
  ['skipBatch', checkSkipBatch],
  ['error', checkError],
  ['refit', checkRefit],
  ['state', checkState],
  ['parseState', checkParseState],
  ['hparams', checkHparams],
  ['timing', checkTiming],
];

async function guarded(name: CheckName, check: () => Promise<CheckResult>): Promise<CheckResult> {
  const start = performance.now();
  try {
    return await check();
  } catch (error) {
    return checkResult(name, start, {
      problems: [`the check could not run: ${describeError(error)}`],
      summary: 'failed to run',
    });
  }
}

/**
 * Runs a plugin through the conformance checks and reports each one (pass / fail / skip, with
 * readable reasons); it does not throw for a failing plugin. Give a module reference
 * (`{ module, export, options }`) so the resume check can import the plugin in fresh processes; a
 * factory function is checked in this process only.
 *
 * ```ts
 * const report = await checkPlugin({ module: new URL('../dist/index.js', import.meta.url), export: 'myPlugin' });
 * expect(report.problems).toEqual([]);     // or assertWellBehaved(report) under node --test
 * ```
 */
export async function checkPlugin(
  plugin: PluginUnderTest,
  options: CheckOptions = {},
): Promise<PluginReport> {
  const start = performance.now();
  let subject: Subject;
  let bystander: Plugin;
  let load: CheckResult;
  try {
    const loaded = await loadPlugin(plugin);
    const companions = await Promise.all((options.with ?? []).map(loadPlugin));
    const sample = loaded.make();
    subject = { loaded, companions, setup: options.setup ?? {}, name: sample.name };
    bystander = loaded.make();
    // Fail fast on what the trainer refuses at construction (ordering, hyperparameter conflicts).
    buildRun([sample, ...companions.map((c) => c.make())], options.setup).dispose();
    load = loadResult(start, sample, loaded.label);
  } catch (error) {
    const failed = checkResult('load', start, {
      problems: [`the plugin could not be loaded or given to a Trainer: ${describeError(error)}`],
      summary: 'not loaded',
    });
    return makeReport('(not loaded)', [failed], [], [], (performance.now() - start) / 1000);
  }
  const setup = resolveSetup(options.setup);
  const runs: KitRunOutcome[] = [];
  let main: Promise<KitRunOutcome> | undefined;
  const kit: Kit = {
    subject,
    options,
    setup,
    mainEpochs: Math.max(3, setup.epochs),
    runs,
    bystander,
    async run(runOptions) {
      const outcome = await kitRun(subject, runOptions);
      runs.push(outcome);
      return outcome;
    },
    main() {
      main ??= kit.run({ label: 'main', fits: [kit.mainEpochs] });
      return main;
    },
  };
  const previous = tf.getBackend();
  const results: CheckResult[] = [load];
  let resumeOutcomes: ResumeOutcome[] = [];
  const resume = async () => {
    const { result, outcomes } = await checkResume(kit);
    resumeOutcomes = outcomes;
    return result;
  };
  const crossProcess =
    subject.loaded.ref !== undefined && subject.companions.every((c) => c.ref !== undefined);
  // Child processes run beside the in-process checks; an in-process resume would disturb their tensor counts.
  const beside = enabled(options, 'resume') && crossProcess && options.resume?.sequential !== true;
  const background = beside ? guarded('resume', resume) : undefined;
  try {
    if (previous !== 'cpu') await tf.setBackend('cpu');
    for (const [name, check] of IN_PROCESS) {
      if (enabled(options, name)) results.push(await guarded(name, () => check(kit)));
    }
    if (enabled(options, 'resume')) results.push(await (background ?? guarded('resume', resume)));
  } finally {
    for (const r of runs) {
      r.run.dispose();
      releasePlugin(r.plugin);
    }
    releasePlugin(bystander);
    if (tf.getBackend() !== previous) await tf.setBackend(previous);
  }
  const timing = main ? (await main).instrument.hookTimings() : [];
  return makeReport(subject.name, results, timing, resumeOutcomes, (performance.now() - start) / 1000);
}
