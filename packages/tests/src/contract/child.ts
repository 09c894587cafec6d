// One process of the resume contract: `straight` (N+M in one go), `first` (train, checkpoint at the
// interruption point, exit at once as a crash would), or `resume` (a fresh process resuming).
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { definePlugin, initBackend, type Plugin, type TrainerContext } from '@tensorloop/core';
import type { ContractRun, ContractScenario, Interruption, RunResult } from './scenario.js';

const [scenarioPath, mode, dir, out, interruption] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string?,
];

function collect(run: ContractRun, earlier: unknown[] = []): RunResult {
  return {
    weights: Object.fromEntries(
      run.trainer.model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]),
    ),
    history: run.trainer.history.map((h) => ({ epoch: h.epoch, fitIndex: h.fitIndex, logs: h.logs })),
    time: { ...run.trainer.time },
    stopReason: null,
    decisions: [...earlier, ...(run.takeDecisions?.() ?? [])],
  };
}

function interrupter(point: Interruption, getRun: () => ContractRun): Plugin {
  const crash = async (ctx: TrainerContext) => {
    await ctx.save(dir);
    const partial = collect(getRun());
    writeFileSync(out, JSON.stringify(partial));
    process.exit(0); // as abrupt as a crash: no onFitEnd, nothing flushed
  };
  return definePlugin({
    name: 'contract:interrupt',
    enforce: 'post',
    async onEpochEnd(ctx, e) {
      if ('afterEpoch' in point && e.epoch + 1 === point.afterEpoch) await crash(ctx);
    },
    async onBatchEnd(ctx, e) {
      if ('atStep' in point && e.stepped && ctx.time.step === point.atStep) await crash(ctx);
    },
  });
}

async function main(): Promise<void> {
  const backend = process.env.TL_CONTRACT_BACKEND === 'wasm' ? 'wasm' : 'cpu';
  if (backend === 'wasm') await initBackend('wasm', { quiet: true });
  else await tf.setBackend('cpu');
  tf.enableProdMode();
  const scenario = ((await import(pathToFileURL(scenarioPath).href)) as { default: ContractScenario })
    .default;
  let run: ContractRun | undefined;
  const extra = mode === 'first' ? [interrupter(JSON.parse(interruption!) as Interruption, () => run!)] : [];
  run = await scenario.create(extra);
  const resumeFrom = mode === 'resume' ? dir : undefined;
  const stopReason = run.run
    ? await run.run(resumeFrom)
    : (await run.trainer.fit(run.data, resumeFrom ? { ...run.fit, resumeFrom } : run.fit)).stopReason;
  const collected = collect(run);
  const final: RunResult = {
    ...collected,
    stopReason: stopReason ? { by: stopReason.by, message: stopReason.message } : null,
  };
  writeFileSync(out, JSON.stringify(final));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
