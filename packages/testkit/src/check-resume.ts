import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plugin, TrainerContext } from '@tensorloop/core';
import { decisionRecorder, type Interruption, interrupter } from './companions.js';
import type { Kit } from './kit-options.js';
import { describeError, onBackend } from './kit-run.js';
import type { ModuleRef } from './plugin-source.js';
import { type CheckResult, checkResult } from './report.js';
import {
  collectRun,
  compareRuns,
  type ResumeOutcome,
  type RunResult,
  resumeInProcesses,
  type VolatileFields,
} from './resume-contract.js';
import { buildRun, type ResolvedSetup, stepsPerEpoch } from './setup.js';
import { checkVolatilePaths } from './volatile-state.js';

/** After epoch 1, and in the middle of epoch 1 when an epoch has more than one step. */
export function defaultInterruptions(setup: ResolvedSetup): Interruption[] {
  const steps = stepsPerEpoch(setup);
  const points: Interruption[] = [{ afterEpoch: 1 }];
  if (steps > 1) points.push({ atStep: steps + Math.floor(steps / 2) });
  return points;
}

export const describeInterruption = (i: Interruption): string =>
  'afterEpoch' in i ? `after ${i.afterEpoch} epoch${i.afterEpoch === 1 ? '' : 's'}` : `at step ${i.atStep}`;

class Crash extends Error {}

/** The resume check in this process (for factory functions): fresh plugin instances and trainers per run. */
async function resumeHere(
  kit: Kit,
  interruptions: readonly Interruption[],
  tolerance: number,
  states: boolean,
  volatile: VolatileFields,
): Promise<ResumeOutcome[]> {
  const makeAll = (): Plugin[] => [kit.subject.loaded.make(), ...kit.subject.companions.map((c) => c.make())];
  const once = async (
    extra: (take: () => unknown[]) => Plugin[],
    resumeFrom?: string,
  ): Promise<RunResult> => {
    const watched = makeAll();
    const recorder = decisionRecorder(watched, { states });
    const run = buildRun([...watched, recorder, ...extra(recorder.take)], kit.setup);
    try {
      const result = await run.trainer.fit(run.data, resumeFrom ? { ...run.fit, resumeFrom } : run.fit);
      return {
        ...collectRun(run.trainer, recorder.take()),
        stopReason: result.stopReason
          ? { by: result.stopReason.by, message: result.stopReason.message }
          : null,
      };
    } finally {
      run.dispose();
    }
  };
  const straight = await once(() => []);
  const outcomes: ResumeOutcome[] = [];
  for (const interruption of interruptions) {
    const dir = await mkdtemp(join(tmpdir(), 'tl-resume-'));
    try {
      let first: RunResult | undefined;
      await once((take) => [
        interrupter(interruption, async (ctx: TrainerContext) => {
          await ctx.save(dir);
          first = collectRunOf(ctx, take());
          throw new Crash('interrupted'); // core runs onException and onFitEnd; the checkpoint is on disk
        }),
      ]).catch((error: unknown) => {
        if (!(error instanceof Error && (error.cause instanceof Crash || error instanceof Crash)))
          throw error;
      });
      if (!first)
        throw new Error(
          `the fit ended before the interruption point ${JSON.stringify(interruption)}; interrupt earlier`,
        );
      const resumed = await once(() => [], dir);
      outcomes.push({ interruption, ...compareRuns(straight, first, resumed, tolerance, volatile) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return outcomes;
}

/** What an interrupted in-process run has done so far (the trainer is reached through the context). */
function collectRunOf(ctx: TrainerContext, decisions: unknown[]): RunResult {
  return {
    weights: Object.fromEntries(
      ctx.model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]),
    ),
    history: ctx.history.map((h) => ({
      epoch: h.epoch,
      fitIndex: h.fitIndex,
      logs: { ...h.logs } as Record<string, number>,
    })),
    time: { ...ctx.time },
    stopReason: null,
    decisions,
  };
}

/** Save mid-run, resume in a fresh process, the same outcome: weights, logs, time, stop reason, decisions. */
export async function checkResume(kit: Kit): Promise<{ result: CheckResult; outcomes: ResumeOutcome[] }> {
  const start = performance.now();
  const options = kit.options.resume ?? {};
  const interruptions = options.interruptions ?? defaultInterruptions(kit.setup);
  const tolerance = options.tolerance ?? 1e-6;
  const states = options.compareState ?? true;
  const volatile = { plugin: kit.subject.name, paths: checkVolatilePaths(options.volatileState) };
  const refs = [kit.subject.loaded.ref, ...kit.subject.companions.map((c) => c.ref)];
  const crossProcess = refs.every((r): r is ModuleRef => r !== undefined);
  const notes: string[] = [];
  if (!crossProcess) {
    notes.push(
      kit.subject.loaded.ref === undefined
        ? 'resumed in this process with fresh instances (module-level state survives): pass { module, export, options } to resume in a fresh process'
        : 'a companion in `with` is a factory function, so the check ran in this process: pass module references to resume in fresh processes',
    );
  }
  let outcomes: ResumeOutcome[];
  try {
    outcomes = crossProcess
      ? await resumeInProcesses(
          {
            kind: 'plugin',
            subject: refs[0]!,
            companions: refs.slice(1) as ModuleRef[],
            setup: kit.options.setup ?? {},
            states,
          },
          interruptions,
          {
            tolerance,
            volatile,
            timeoutMs: options.timeoutMs ?? 120_000,
            ...(options.sequential ? { concurrency: 1 } : {}),
          },
        )
      : await onBackend('cpu', () => resumeHere(kit, interruptions, tolerance, states, volatile));
  } catch (error) {
    return {
      outcomes: [],
      result: checkResult('resume', start, {
        problems: [`a run of the resume check failed: ${describeError(error)}`],
        notes,
        summary: 'the resume check could not run',
      }),
    };
  }
  const problems = outcomes.flatMap((o) =>
    o.problems.map((p) => `interrupted ${describeInterruption(o.interruption)}: ${p}`),
  );
  const maxWeight = Math.max(...outcomes.map((o) => o.maxWeightDiff));
  const where = crossProcess ? 'a fresh process' : 'a fresh trainer';
  return {
    outcomes,
    result: checkResult('resume', start, {
      problems,
      notes,
      summary:
        problems.length === 0
          ? `interrupted ${interruptions.map(describeInterruption).join(' and ')}, resumed in ${where}: same weights (max diff ${maxWeight === 0 ? '0' : maxWeight.toExponential(1)}), logs, time, stop reason${states ? ', state at every epoch' : ''} and hyperparameters at every step`
          : `resuming from a checkpoint in ${where} changes the outcome`,
    }),
  };
}
