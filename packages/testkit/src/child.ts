// One process of the resume check: `straight` (the whole fit in one go), `first` (train, checkpoint at
// the interruption point, exit at once as a crash would), or `resume` (a fresh process resuming).
// Spawned by resume-contract.ts with its spec as the only argument.
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type Plugin, type TrainerContext } from '@tensorloop/core';
import { decisionRecorder, interrupter } from './companions.js';
import { importFactory } from './plugin-source.js';
import {
  type ChildSpec,
  type ContractRun,
  type ContractScenario,
  collectRun,
  type RunResult,
} from './resume-contract.js';
import { buildRun } from './setup.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;

async function pluginScenario(run: Extract<ChildSpec['run'], { kind: 'plugin' }>): Promise<ContractScenario> {
  const makeSubject = await importFactory(run.subject);
  const makers = await Promise.all(run.companions.map(importFactory));
  return {
    async create(extra) {
      const watched = [makeSubject(), ...makers.map((make) => make())];
      const recorder = decisionRecorder(watched, { states: run.states });
      const built = buildRun([...watched, recorder, ...extra], run.setup);
      return { trainer: built.trainer, data: built.data, fit: built.fit, takeDecisions: recorder.take };
    },
  };
}

async function scenarioOf(run: ChildSpec['run']): Promise<ContractScenario> {
  if (run.kind === 'plugin') return pluginScenario(run);
  return ((await import(pathToFileURL(run.path).href)) as { default: ContractScenario }).default;
}

async function main(): Promise<void> {
  if (spec.backend === 'wasm') await initBackend('wasm', { quiet: true });
  else await tf.setBackend('cpu');
  tf.enableProdMode();
  const scenario = await scenarioOf(spec.run);
  let current: ContractRun | undefined;
  const extra: Plugin[] = [];
  if (spec.mode === 'first') {
    extra.push(
      interrupter(spec.interruption!, async (ctx: TrainerContext) => {
        await ctx.save(spec.dir);
        const run = current!;
        writeFileSync(spec.out, JSON.stringify(collectRun(run.trainer, run.takeDecisions?.() ?? [])));
        process.exit(0); // as abrupt as a crash: no onFitEnd, nothing flushed
      }),
    );
  }
  current = await scenario.create(extra);
  const resumeFrom = spec.mode === 'resume' ? spec.dir : undefined;
  const result = current.run
    ? { stopReason: await current.run(resumeFrom) }
    : await current.trainer.fit(current.data, resumeFrom ? { ...current.fit, resumeFrom } : current.fit);
  if (spec.mode === 'first') {
    const why = result.stopReason ? `, stopped by ${result.stopReason.by}: ${result.stopReason.message}` : '';
    throw new Error(
      `the fit ended at epoch ${current.trainer.time.epoch}, step ${current.trainer.time.step}${why}, before the interruption point ${JSON.stringify(spec.interruption)}; interrupt earlier`,
    );
  }
  const final: RunResult = {
    ...collectRun(current.trainer, current.takeDecisions?.() ?? []),
    stopReason: result.stopReason ? { by: result.stopReason.by, message: result.stopReason.message } : null,
  };
  writeFileSync(spec.out, JSON.stringify(final));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
