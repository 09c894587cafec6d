import {
  checkMonitorKey,
  definePlugin,
  type EpochEndEvent,
  type FitStartEvent,
  type HyperparamWriteDeclaration,
  inferMonitorMode,
  type Plugin,
  readMonitor,
  resolveMonitorMode,
  type StopSignal,
  stop,
  type TensorloopOptimizer,
  type TrainerContext,
} from '@tensorloop/core';
import { trackFrozenBatchNorm } from './batch-norm.js';
import { BestWeights } from './best-weights.js';
import { fail, PLUGIN_NAME } from './errors.js';
import { formatSchedule, implicitPhases } from './implicit.js';
import { type ActiveLrSchedule, factorAt, resolveFactorFn } from './lr-schedule.js';
import { nodeModules } from './node-fs.js';
import {
  checkOptimizer,
  checkOptimizerType,
  ensurePhaseGroup,
  groupedOptimizer,
  phaseGroupName,
  resetOptimizerState,
} from './optimizer-groups.js';
import { type FinetuneSchedulerOptions, type ResolvedOptions, resolveOptions } from './options.js';
import {
  checkTransitionEpochs,
  type ParsedSchedule,
  parseSchedule,
  readScheduleSource,
  resolveMaxDepth,
} from './schedule-parse.js';
import { resolveSchedule } from './schedule-resolve.js';
import type { LrFactorFn, ParsedPhase, Phase } from './schedule-types.js';
import { type FinetuneSchedulerState, parseState, type TransitionRecord } from './state.js';
import { PhaseStopping, type PhaseVerdict, shouldTransition, type TransitionReason } from './transitions.js';

/** What `ctx.plugin('@tensorloop/finetune-scheduler')` returns (live, read-only). */
export interface FinetuneSchedulerApi {
  /** The current phase (FTS `curr_depth`). */
  readonly currDepth: number;
  /** Phases still to come: `max(maxDepth − currDepth, 0)`; -1 before an implicit schedule is resolved. */
  readonly depthRemaining: number;
  /** The last phase the run reaches; -1 before an implicit schedule is resolved (at the first fit start). */
  readonly maxDepth: number;
  /** The resolved schedule (weights by name, in model order); undefined before it is resolved. */
  readonly schedule: readonly Phase[] | undefined;
  /** Early stopping marked the current phase complete: the next epoch starts the next phase. */
  readonly phaseComplete: boolean;
  /** Best monitored value so far, across phases. */
  readonly best: number | undefined;
  readonly bestEpoch: number | undefined;
  /** Epochs without improvement in the current phase. */
  readonly wait: number;
  /** Every transition so far. */
  readonly transitions: readonly TransitionRecord[];
  /** How many times the best weights were put back (`restoreBest`). */
  readonly restores: number;
}

/**
 * The `finetune:transition` event, fired after a phase's weights were thawed and its group added.
 * `phase`, `message` and `unfrozen` are the fields `@tensorloop/progress` and `@tensorloop/report`
 * read (a line in the progress output, a boundary on every plot).
 */
export interface FinetuneTransitionEvent {
  readonly depth: number;
  /** The same as `depth`. */
  readonly phase: number;
  readonly previousDepth: number;
  /** The global epoch about to train in the new phase. */
  readonly epoch: number;
  readonly reason: TransitionReason;
  /** Why and what, in words: `phase 0 ran out of patience; 2 weights thawed (group phase1, lr 1e-5)`. */
  readonly message: string;
  /** The layers of the weights it thawed (`'dense, out'`): the label progress and report show. */
  readonly name: string;
  /** The weights this phase thawed. */
  readonly unfrozen: readonly string[];
  /** The param group it added and its lr. */
  readonly group: string;
  readonly lr: number;
  /** Epoch of the best weights put back before thawing (`restoreBest`), if any. */
  readonly restoredBestEpoch: number | undefined;
}

const fmt = (v: number | undefined): string =>
  v === undefined ? '-' : Number.isFinite(v) ? String(Number(v.toPrecision(6))) : String(v);

/** Hyperparameters the schedule writes through the store (declared, so conflicts fail at construction). */
function declaredWrites(parsed: ParsedSchedule | undefined): HyperparamWriteDeclaration[] {
  const names = new Set<string>();
  for (const p of parsed?.phases ?? []) {
    if (p.newLrSchedule !== undefined) names.add('lr');
    for (const key of Object.keys(p.newOptimizer ?? {})) names.add(key);
  }
  return [...names].map((name) => ({ name, mode: 'set' as const }));
}

/**
 * Multi-phase scheduled gradual unfreezing (Lightning finetuning-scheduler semantics): phase 0
 * trains alone, each later phase thaws its weights and adds its own param group at its lr, when the
 * phase's early stopping runs out of patience or its `maxTransitionEpoch` comes; the final phase's
 * early stop ends the run. State (depth, best, best weights, lr schedule) survives resume.
 */
export function finetuneScheduler(options: FinetuneSchedulerOptions = {}): Plugin<typeof PLUGIN_NAME> {
  const o: ResolvedOptions = resolveOptions(options);
  const explicit =
    o.schedule === undefined ? undefined : parseScheduleNow(o.schedule, o.maxDepth, o.epochTransitionsOnly);
  const needsMonitor = !o.epochTransitionsOnly || o.restoreBest;

  let parsed: readonly ParsedPhase[] | undefined = explicit?.phases;
  let phases: readonly Phase[] | undefined;
  let maxDepth = explicit === undefined ? -1 : resolveMaxDepth(o.maxDepth, explicit.phases.length);
  let depth = 0;
  let mode: 'min' | 'max' | undefined = needsMonitor ? inferMonitorMode(o.monitor, o.mode) : undefined;
  const es = new PhaseStopping(o);
  let snapshot: BestWeights | undefined;
  let restores = 0;
  const transitions: TransitionRecord[] = [];
  let lrSchedule: ActiveLrSchedule | undefined;
  const factorFns = new Map<number, LrFactorFn>();
  const written = new Map<string, number>();
  let saved: FinetuneSchedulerState | undefined;
  let announced = false;
  let undoBatchNorm: (() => void) | undefined;

  const phase = (d: number): Phase => phases![d]!;
  const finalPhase = () => depth >= maxDepth;

  /** The schedule against the trainer's weights (at every fit start: the model is the trainer's). */
  function resolveAgainst(ctx: TrainerContext): void {
    const names = ctx.parameters().map((p) => p.name);
    const warnings = [...(explicit?.warnings ?? [])];
    if (explicit === undefined) {
      parsed = implicitPhases(names).map((patterns, d) => ({
        depth: d,
        patterns,
        maxTransitionEpoch: -1,
        lr: undefined,
        newOptimizer: undefined,
        newOptimizerType: undefined,
        newLrSchedule: undefined,
      }));
      maxDepth = resolveMaxDepth(o.maxDepth, parsed.length);
      warnings.push(...checkTransitionEpochs(parsed, maxDepth, o.epochTransitionsOnly));
    } else {
      warnings.push(...checkTransitionEpochs(explicit.phases, maxDepth, o.epochTransitionsOnly));
    }
    const resolved = resolveSchedule(parsed!, names, maxDepth, o.baseMaxLr);
    phases = resolved.phases;
    if (announced) return;
    announced = true;
    if (explicit === undefined) {
      ctx.logger.info(
        `No fine-tuning schedule provided, maxDepth set to ${o.maxDepth} so iteratively thawing ${o.maxDepth < 0 ? 'the entire model' : `up to phase ${maxDepth}`} (${phases.length} phases of two weights, output first).`,
      );
    }
    if (o.epochTransitionsOnly && o.earlyStoppingGiven) {
      warnings.push(
        'You have specified earlyStopping options along with epochTransitionsOnly. Pruning the extraneous early stopping: transitions come from maxTransitionEpoch alone.',
      );
    }
    if (!o.epochTransitionsOnly && ctx.hasPlugin('@tensorloop/early-stopping')) {
      warnings.push(
        "@tensorloop/early-stopping is registered too: it would end the whole run when its patience runs out, while this plugin's earlyStopping ends only the current phase. Remove it and set finetuneScheduler({ earlyStopping: { ... } }).",
      );
    }
    for (const w of [...warnings, ...resolved.warnings]) ctx.logger.warn(w);
    for (const i of resolved.infos) ctx.logger.info(i);
  }

  /** Phases 0..d thawed and everything else frozen; one param group per phase 1..d (added if missing). */
  function applyDepth(ctx: TrainerContext, d: number, opt: TensorloopOptimizer | undefined): number {
    const thawed = new Set(phases!.slice(0, d + 1).flatMap((p) => p.params));
    const all = ctx.parameters();
    const toFreeze = all.filter((p) => !thawed.has(p.name) && p.trainable).map((p) => p.name);
    const toThaw = all.filter((p) => thawed.has(p.name) && !p.trainable).map((p) => p.name);
    if (toFreeze.length > 0) ctx.freeze(setMatcher(toFreeze));
    if (toThaw.length > 0) ctx.unfreeze(setMatcher(toThaw));
    let added = 0;
    if (opt !== undefined) {
      for (let k = 1; k <= d; k++) if (ensurePhaseGroup(opt, phase(k), { lr: phase(k).lr! })) added++;
    }
    return added;
  }

  function checkResume(s: FinetuneSchedulerState): void {
    if (s.depth > maxDepth) {
      fail(
        'TL_CHECKPOINT_INVALID',
        `the checkpoint was taken at depth ${s.depth}, past this run's maxDepth ${maxDepth}. Resume with a maxDepth ≥ ${s.depth} (or -1).`,
      );
    }
    for (let k = 0; k <= s.depth; k++) {
      const now = new Set(phase(k).params);
      const then = s.phases[k]!;
      // Empty: saved before a fit resolved the schedule (a resolved phase is never empty).
      if (then.length === 0) continue;
      if (then.length !== now.size || then.some((n) => !now.has(n))) {
        fail(
          'TL_CHECKPOINT_INVALID',
          `phase ${k} thawed ${then.length} weights when the checkpoint was taken (${then.slice(0, 4).join(', ')}${then.length > 4 ? ', …' : ''}) but the schedule now gives it ${now.size} others. Phases up to the checkpoint's depth (${s.depth}) must not change; later phases may.`,
        );
      }
    }
  }

  async function onFitStart(ctx: TrainerContext, event: FitStartEvent): Promise<StopSignal | undefined> {
    const resumed = event.resumed;
    if (o.genScheduleOnly) return generateOnly(ctx);
    if (needsMonitor) mode = resolveMonitorMode(o.monitor, o.mode, PLUGIN_NAME, ctx.metricDirections);
    resolveAgainst(ctx);
    if (saved !== undefined) {
      checkResume(saved);
      saved = undefined;
    }
    const opt = checkOptimizer(ctx, phases!, maxDepth, depth);
    for (const p of parsed!.slice(1, maxDepth + 1)) {
      checkOptimizerType(opt, p.depth, p.newOptimizerType);
      if (p.newLrSchedule === undefined) continue;
      if (
        p.newLrSchedule.every === 'step' &&
        p.newLrSchedule.total === undefined &&
        ctx.plan?.stepsPerEpoch === undefined
      ) {
        fail(
          'TL_SCHEDULE_INVALID',
          `phase ${p.depth}: newLrSchedule counts steps, but this fit's steps per epoch are unknown (an iterable without stepsPerEpoch). Give newLrSchedule.total or fit's stepsPerEpoch.`,
        );
      }
      factorFns.set(p.depth, await resolveFactorFn(p.depth, p.newLrSchedule));
    }
    if (needsMonitor) {
      // After the schedule and optimizer checks (their errors say more), before anything changes.
      checkMonitorKey(o.monitor, event.logKeys, PLUGIN_NAME, {
        hint: o.epochTransitionsOnly
          ? `restoreBest tracks the best weights by "${o.monitor}". With epochTransitionsOnly nothing else needs it: pass validationData (or earlyStopping.monitor), or set restoreBest: false.`
          : undefined,
      });
    }
    const added = applyDepth(ctx, depth, opt);
    if (resumed && added > 0) {
      ctx.logger.warn(
        `the resumed optimizer lacked ${added} phase group(s); they were added at their phase lr.`,
      );
    }
    if (o.frozenBatchNorm === 'track') undoBatchNorm = trackFrozenBatchNorm(ctx.model);
    writeResolved(ctx);
    const trainable = phases!.slice(0, depth + 1).reduce((n, p) => n + p.params.length, 0);
    ctx.logger.info(
      `${resumed ? 'resuming' : 'training'} at depth ${depth} of ${maxDepth}: ${trainable} of ${ctx.parameters().length} weights trainable.`,
    );
    if (finalPhase()) announceFinal(ctx);
    return undefined;
  }

  function generateOnly(ctx: TrainerContext): StopSignal {
    const names = ctx.parameters().map((p) => p.name);
    const levels = implicitPhases(names);
    const yaml = formatSchedule(Object.fromEntries(levels.map((params, i) => [i, { params }])));
    const file = writeYaml(ctx, yaml);
    if (file === undefined) ctx.logger.info(`the implicit schedule:\n${yaml}`);
    return stop(
      `genScheduleOnly: ${file === undefined ? 'the implicit schedule is in the log' : `wrote the implicit schedule to ${file}`} (${levels.length} phases); nothing was trained.`,
    );
  }

  function writeYaml(ctx: TrainerContext, yaml: string): string | undefined {
    const node = nodeModules();
    if (o.logDir === false || node === undefined) return undefined;
    const dir = o.logDir ?? node.cwd;
    const file = node.path.join(dir, `${ctx.model.name}_ft_schedule.yaml`);
    node.fs.mkdirSync(dir, { recursive: true });
    node.fs.writeFileSync(file, yaml);
    return file;
  }

  function writeResolved(ctx: TrainerContext): void {
    try {
      const file = writeYaml(ctx, formatSchedule(phases!));
      if (file !== undefined) ctx.logger.debug(`wrote the resolved schedule to ${file}`);
    } catch (cause) {
      // A record for reproducibility: not worth failing the run over.
      ctx.logger.warn(
        `could not write the resolved schedule: ${(cause as Error).message}. Set logDir (or false).`,
      );
    }
  }

  function announceFinal(ctx: TrainerContext): void {
    ctx.logger.info(
      `Given the current configuration of maxDepth (${maxDepth}), this training session will now end when the early stopping conditions are met or the fit's epochs (${ctx.plan?.epochs ?? '?'}) are reached.`,
    );
  }

  /** lr of every group the running lr schedule scales, at this time. */
  function scheduledLr(time: { epoch: number; step: number }): Map<string, number> {
    const out = new Map<string, number>();
    if (lrSchedule === undefined) return out;
    const factor = factorAt(factorFns.get(lrSchedule.phase)!, lrSchedule, time);
    for (const [group, base] of Object.entries(lrSchedule.bases)) out.set(group, base * factor);
    return out;
  }

  function writeScheduledLr(ctx: TrainerContext): void {
    const known = new Set(ctx.hparams.groups('lr'));
    for (const [group, lr] of scheduledLr(ctx.time)) {
      // A group added at this epoch start joins the store at its first step, already at this lr.
      if (!known.has(group) || written.get(group) === lr) continue;
      ctx.hparams.set('lr', lr, { group });
      written.set(group, lr);
    }
  }

  async function transition(ctx: TrainerContext, reason: TransitionReason): Promise<void> {
    const opt = groupedOptimizer(ctx)!;
    let restoredBestEpoch: number | undefined;
    if (o.restoreBest && snapshot !== undefined) {
      snapshot.restoreInto(ctx.model);
      restores += 1;
      restoredBestEpoch = snapshot.epoch;
    }
    const previousDepth = depth;
    depth += 1;
    const next = phase(depth);
    const group = phaseGroupName(depth);
    ctx.unfreeze(setMatcher(next.params));
    const reset = next.newOptimizer;
    if (reset !== undefined) {
      resetOptimizerState(opt);
      for (const [name, value] of Object.entries(reset)) ctx.hparams.set(name, value);
    }
    const schedule = parsed![depth]!.newLrSchedule;
    if (schedule !== undefined) {
      const plan = ctx.plan;
      const epochsLeft = Math.max(1, (plan?.epochs ?? 1) - ctx.time.fitEpoch);
      const total =
        schedule.total ?? (schedule.every === 'epoch' ? epochsLeft : epochsLeft * (plan?.stepsPerEpoch ?? 1));
      const bases: Record<string, number> = {};
      for (const g of ctx.hparams.groups('lr')) bases[g] = ctx.hparams.get('lr', { group: g });
      lrSchedule = {
        phase: depth,
        every: schedule.every,
        startEpoch: ctx.time.epoch,
        startStep: ctx.time.step,
        total,
        bases,
      };
    }
    if (lrSchedule !== undefined) lrSchedule.bases[group] = next.lr!;
    const lr = scheduledLr(ctx.time).get(group) ?? next.lr!;
    const { lr: _lr, ...otherHparams } = reset ?? {};
    ensurePhaseGroup(opt, next, { ...otherHparams, lr });
    written.clear();
    if (lrSchedule !== undefined) writeScheduledLr(ctx);
    es.resetPhase();
    transitions.push({ depth, epoch: ctx.time.epoch, reason, restoredBestEpoch: restoredBestEpoch ?? null });
    const why =
      reason === 'earlyStopping'
        ? `phase ${previousDepth} ran out of patience`
        : `maxTransitionEpoch ${phase(previousDepth).maxTransitionEpoch} reached`;
    const what = `${next.params.length} weights thawed, group ${group} at lr ${fmt(lr)}${restoredBestEpoch === undefined ? '' : `, best weights of epoch ${restoredBestEpoch} restored first`}`;
    ctx.logger.info(`Multi-phase fine-tuned training continuing at level ${depth} (${why}): ${what}.`);
    if (finalPhase()) announceFinal(ctx);
    await ctx.emit('finetune:transition', {
      depth,
      phase: depth,
      previousDepth,
      epoch: ctx.time.epoch,
      reason,
      message: `${why}; ${what}`,
      name: layersOf(next.params),
      unfrozen: next.params,
      group,
      lr,
      restoredBestEpoch,
    });
  }

  function takeSnapshot(ctx: TrainerContext, epoch: number): void {
    snapshot?.dispose();
    snapshot = BestWeights.capture(ctx.model, epoch);
  }

  function stopMessage(verdict: PhaseVerdict & { kind: 'stop' }, value: number): string {
    const bestText =
      es.best === undefined
        ? 'no best value yet'
        : `best ${o.monitor} ${fmt(es.best)} at epoch ${es.bestEpoch}`;
    switch (verdict.why) {
      case 'notFinite':
        return `${o.monitor} = ${fmt(value)} is not finite (${bestText}); ending the run at depth ${depth}`;
      case 'stoppingThreshold':
        return `${o.monitor} = ${fmt(value)} reached the stopping threshold ${fmt(o.stoppingThreshold)} at depth ${depth}`;
      case 'divergence':
        return `${o.monitor} = ${fmt(value)} is worse than the divergence threshold ${fmt(o.divergenceThreshold)}: training diverged at depth ${depth}`;
      default:
        return `final phase ${depth}: no improvement in ${o.monitor} for ${es.wait} epoch${es.wait === 1 ? '' : 's'} (${bestText})`;
    }
  }

  function onEpochEnd(ctx: TrainerContext, event: EpochEndEvent): StopSignal | undefined {
    // A cut-short epoch averages over part of the data and has no validation: not comparable.
    if (event.partial || phases === undefined) return undefined;
    if (o.epochTransitionsOnly) {
      if (o.restoreBest) {
        if (typeof event.logs[o.monitor] !== 'number') {
          fail(
            'TL_MONITOR_UNKNOWN',
            `restoreBest tracks the best weights by "${o.monitor}", which is not in the epoch logs (${Object.keys(event.logs).join(', ')}). With epochTransitionsOnly nothing else needs it: pass validationData (or earlyStopping.monitor), or set restoreBest: false.`,
          );
        }
        const value = readMonitor(event.logs, o.monitor, PLUGIN_NAME);
        if (es.observe(value, event.epoch, mode!)) takeSnapshot(ctx, event.epoch);
      }
      return undefined;
    }
    const value = readMonitor(event.logs, o.monitor, PLUGIN_NAME);
    const verdict = es.evaluate(value, event.epoch, mode!, finalPhase());
    switch (verdict.kind) {
      case 'improved':
        if (o.restoreBest) takeSnapshot(ctx, event.epoch);
        ctx.logger.debug(`${o.monitor} ${fmt(value)}: best so far (depth ${depth})`);
        return undefined;
      case 'waiting':
        ctx.logger.debug(
          `no improvement in ${o.monitor} for ${verdict.wait} of ${o.patience} epochs at depth ${depth} (best ${fmt(es.best)} at epoch ${es.bestEpoch})`,
        );
        return undefined;
      case 'phaseComplete':
        ctx.logger.info(
          `phase ${depth} complete: no improvement in ${o.monitor} for ${verdict.wait} epoch${verdict.wait === 1 ? '' : 's'} (best ${fmt(es.best)} at epoch ${es.bestEpoch}); phase ${depth + 1} starts with the next epoch.`,
        );
        return undefined;
      default: {
        const message = stopMessage(verdict, value);
        ctx.logger.info(`stopping: ${message}`);
        return stop(message);
      }
    }
  }

  const api: FinetuneSchedulerApi = {
    get currDepth() {
      return depth;
    },
    get depthRemaining() {
      return maxDepth < 0 ? -1 : Math.max(maxDepth - depth, 0);
    },
    get maxDepth() {
      return maxDepth;
    },
    get schedule() {
      return phases;
    },
    get phaseComplete() {
      return es.phaseComplete;
    },
    get best() {
      return es.best;
    },
    get bestEpoch() {
      return es.bestEpoch;
    },
    get wait() {
      return es.wait;
    },
    get transitions() {
      return transitions;
    },
    get restores() {
      return restores;
    },
  };

  return definePlugin({
    name: PLUGIN_NAME,
    api,
    hparams: declaredWrites(explicit),
    // restoreBest puts the phase's best weights back before thawing, at the start of an epoch
    ...(o.restoreBest ? { writesWeights: 'epochStart' as const } : {}),
    describe: () => [
      explicit === undefined
        ? `implicit schedule (two weights per phase, output first; resolved at fit start), maxDepth ${o.maxDepth}`
        : `schedule from ${explicit.source}: ${explicit.phases.length} phases, maxDepth ${maxDepth}`,
      o.epochTransitionsOnly
        ? 'transitions at maxTransitionEpoch only'
        : `a phase ends after ${o.patience} epochs without improvement in ${o.monitor} (or at its maxTransitionEpoch)`,
      `new phase groups at lr ${o.baseMaxLr} unless the phase gives one${o.restoreBest ? '; best weights restored before each transition' : ''}`,
    ],
    onFitStart: (ctx, event) => onFitStart(ctx, event),
    onEpochStart: {
      // Before other plugins' epoch start: they see the new depth.
      order: 'pre',
      async handler(ctx) {
        if (phases === undefined) return undefined;
        const reason = shouldTransition({
          depth,
          maxDepth,
          // The stage's epochs: a fine-tuning stage of a multi-stage run counts from its own start.
          epoch: ctx.time.stageEpoch,
          maxTransitionEpoch: phase(depth).maxTransitionEpoch,
          phaseComplete: es.phaseComplete,
          epochTransitionsOnly: o.epochTransitionsOnly,
        });
        if (reason !== undefined) await transition(ctx, reason);
        return undefined;
      },
    },
    onBatchStart: {
      order: 'pre',
      handler(ctx) {
        if (lrSchedule !== undefined) writeScheduledLr(ctx);
      },
    },
    onEpochEnd,
    onFitEnd() {
      undoBatchNorm?.();
      undoBatchNorm = undefined;
    },
    state: (): FinetuneSchedulerState => ({
      format: 1,
      depth,
      maxDepth,
      monitor: o.monitor,
      mode: mode ?? null,
      phaseComplete: es.phaseComplete,
      wait: es.wait,
      best: es.best ?? null,
      bestEpoch: es.bestEpoch ?? null,
      bestWeightsEpoch: snapshot?.epoch ?? null,
      restores,
      transitions: [...transitions],
      lrSchedule: lrSchedule === undefined ? null : { ...lrSchedule, bases: { ...lrSchedule.bases } },
      // Before a fit start resolved the schedule, what a loaded state said (or nothing yet).
      phases:
        phases === undefined
          ? (saved?.phases.map((p) => [...p]) ?? [[]])
          : phases.slice(0, depth + 1).map((p) => [...p.params]),
    }),
    stateTensors: () => snapshot?.tensorMap() ?? {},
    parseState: (raw) => parseState(raw),
    loadState(s, _version, tensors) {
      if (s.monitor !== o.monitor || (mode !== undefined && s.mode !== null && s.mode !== mode)) {
        fail(
          'TL_CHECKPOINT_INVALID',
          `the checkpoint's scheduler watches ${s.monitor} (${s.mode ?? 'no mode'}), this one ${o.monitor} (${mode ?? o.mode}). Resume with the same earlyStopping monitor and mode.`,
        );
      }
      depth = s.depth;
      // An implicit schedule's depth is known at fit start (and checked against this there).
      if (explicit === undefined && phases === undefined) maxDepth = s.maxDepth;
      es.phaseComplete = s.phaseComplete;
      es.wait = s.wait;
      es.best = s.best ?? undefined;
      es.bestEpoch = s.bestEpoch ?? undefined;
      restores = s.restores;
      transitions.splice(0, transitions.length, ...s.transitions);
      lrSchedule = s.lrSchedule === null ? undefined : { ...s.lrSchedule, bases: { ...s.lrSchedule.bases } };
      written.clear();
      snapshot?.dispose();
      snapshot =
        o.restoreBest && s.bestWeightsEpoch !== null && Object.keys(tensors).length > 0
          ? BestWeights.fromTensors(s.bestWeightsEpoch, tensors)
          : undefined;
      // Checked against the schedule at fit start, when the model's weights are known.
      saved = s;
    },
  });
}

/** The layers of weight names (`dense/kernel` → `dense`), once each, in order. */
function layersOf(names: readonly string[]): string {
  return [...new Set(names.map((n) => n.slice(0, Math.max(0, n.lastIndexOf('/')) || n.length)))].join(', ');
}

function setMatcher(names: readonly string[]): (name: string) => boolean {
  const set = new Set(names);
  return (name) => set.has(name);
}

/** An explicit schedule is read and checked when the plugin is made: a bad file fails before any fit. */
function parseScheduleNow(
  input: NonNullable<ResolvedOptions['schedule']>,
  maxDepth: number,
  epochTransitionsOnly: boolean,
): ParsedSchedule {
  const { raw, source } = readScheduleSource(input);
  const parsed = parseSchedule(raw, source);
  checkTransitionEpochs(parsed.phases, resolveMaxDepth(maxDepth, parsed.phases.length), epochTransitionsOnly);
  return parsed;
}
