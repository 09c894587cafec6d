import * as tf from '@tensorflow/tfjs';
import type { FitCheckpoint } from '../checkpoint/trainer-checkpoint.js';
import type { ResumePoint } from '../checkpoint/trainer-state.js';
import type { DataSource, PendingBatch } from '../data.js';
import type { EpochDone } from '../epoch-line.js';
import { TensorloopError } from '../errors.js';
import { type HookRunner, type RaisedSignal, wrapHookError } from '../hooks.js';
import { fitLogKeys } from '../log-keys.js';
import type { CoreEventName, EpochRecord, HookEvents, Logger, Logs, Plugin, StopReason } from '../plugin.js';
import type { SeededRandom } from '../rng.js';
import { type Clock, snapshotTime, type Time } from '../time.js';
import { GradientAccumulator } from './accumulation.js';
import { batchesWithinTimeout } from './data-timeout.js';
import { EpochLog } from './epoch-log.js';
import { evaluateSource } from './evaluate.js';
import type { NonFiniteWatch } from './non-finite.js';
import { Readback } from './readback.js';
import {
  captureResumePoint,
  continueFit,
  type EpochRun,
  firstEpoch,
  type LoopPhase,
  type LoopPlan,
  type MidEpoch,
  midEpochOf,
  planOfCheckpoint,
  replayEpochStart,
  trainedBeforeCheckpoint,
} from './resume-point.js';
import { flushAccumulated, type StepDeps, type StepOutput, trainStep } from './step.js';
import { discardOptimizerSteps } from './step-gate.js';
import { stepSeed } from './step-random.js';
import type { YieldPolicy } from './yield-policy.js';

/** What the loop is built from; the trainer wires it. */
export interface LoopDeps {
  readonly clock: Clock;
  readonly hooks: HookRunner;
  /** The plugins in resolved order (their `readback` values ride on the loop's read-backs). */
  readonly plugins: readonly Plugin[];
  readonly rng: SeededRandom;
  readonly step: StepDeps;
  /** Every epoch of every fit (the loop appends). */
  readonly history: EpochRecord[];
  /** The trainer's own logger (stop reasons, failures on the error path). */
  readonly logger: Logger;
  readonly smoothing: number;
  readonly accumulateBatches: number;
  /** A plugin declared `needsBatchLogs`: read batch values back every batch. */
  readonly needsBatchLogs: boolean;
  /** Also read batch values back every n batches. */
  readonly logEvery: number | undefined;
  /** The trainer's seed: with the batch counter, it seeds the randomness of each step. */
  readonly seed: number;
  /** Hyperparameters for the epoch logs as they were at the last optimizer step (`lr`, `lr/<group>`). */
  readonly hyperparamLogs: () => Logs;
  /** Reset stateful layers (RNNs) before an epoch trains and before validation; a no-op when off. */
  readonly resetStates: () => void;
  /** Told after each epoch's `onEpochEnd` (core's per-epoch line, `epoch-line.ts`). */
  readonly onEpochDone?: (done: EpochDone) => void;
  /** `onNonFinite`: the device watch over each step's loss and gradients (`non-finite.ts`). */
  readonly nonFinite: NonFiniteWatch;
  /** When to hand the thread back between batches (`Trainer({ yield })`); never when absent. */
  readonly yieldPolicy?: YieldPolicy;
}

export interface FitRunOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  /** Batches per epoch asked for (`stepsPerEpoch`), or undefined for all the data. */
  readonly stepsPerEpoch: number | undefined;
  /** Batches per epoch when known in advance. */
  readonly batchesPerEpoch: number | undefined;
  /** The batch size plugins are told (tensor data only). */
  readonly reportedBatchSize: number | undefined;
  readonly validationBatchSize: number;
  /** The longest wait for the next batch (`dataTimeoutMs`), or undefined for no limit. */
  readonly dataTimeoutMs?: number | undefined;
}

export interface FitData {
  readonly source: DataSource;
  readonly validation: DataSource | undefined;
}

export interface FitResult {
  /** The logs of every epoch of this fit (all fits: `trainer.history`). */
  readonly history: readonly EpochRecord[];
  readonly stopReason: StopReason | undefined;
  readonly time: Time;
}

/** The signals raised so far in a fit, folded from every phase's handlers. */
class LoopSignals {
  stopEpoch = false;
  skipBatch = false;
  constructor(public stopFit: boolean) {}

  fold(raised: readonly RaisedSignal[]): void {
    for (const { signal } of raised) {
      if (signal.signal === 'stop') this.stopFit = true;
      else if (signal.signal === 'stopEpoch') this.stopEpoch = true;
      else this.skipBatch = true;
    }
  }
}

/**
 * The fit loop (DESIGN §3–5): fit → epochs → batches, each phase dispatched through one helper
 * that folds the signals its handlers return. It never reads the trainer: it gets its parts.
 */
export class FitLoop {
  /** The current (or last) fit's plan. */
  plan: LoopPlan | undefined;
  /** The first stop of the current (or last) fit. */
  stopReason: StopReason | undefined;
  private loopPhase: LoopPhase = 'idle';
  private epochRun: EpochRun | undefined;
  /** Device values waiting for the next read-back: skipped device-gated steps, plugins' `readback`. */
  private readonly readback: Readback;

  constructor(private readonly deps: LoopDeps) {
    const watch = { name: 'trainer', readback: deps.nonFinite.readback } as Plugin;
    this.readback = new Readback(
      () => [...deps.plugins, watch],
      (variables, count) => {
        // Steps gated on the device were counted when they ran; the read-back says they were skipped.
        deps.clock.optimizerStepsDiscarded(count);
        discardOptimizerSteps(deps.step.optimizer, variables, count);
      },
      () => deps.clock.time,
      () => deps.nonFinite.pending,
    );
  }

  /** Where the loop is (resume points are the ends of epochs and batches). */
  get position(): LoopPhase {
    return this.loopPhase;
  }

  /** The resume point of where the loop is now (see `resume-point.ts`), with every gated step settled. */
  async resumePoint(inFitCall: boolean): Promise<ResumePoint> {
    await this.readback.settle();
    const position = { phase: this.loopPhase, plan: this.plan, epoch: this.epochRun };
    return captureResumePoint(position, this.deps.clock, this.stopReason, inFitCall);
  }

  /**
   * Why a checkpoint must not be written now: a step of this fit was not finite, so the weights are
   * not worth keeping over the last good checkpoint. Throws with `onNonFinite: 'throw'`.
   */
  saveRefusal(): string | undefined {
    const found = this.deps.nonFinite.found;
    if (!found) return undefined;
    if (this.deps.nonFinite.mode === 'throw') throw this.deps.nonFinite.error(found);
    return `not saving a checkpoint: ${found.message}, so the weights are not worth keeping; the last checkpoint written is left as it was.`;
  }

  /** Saved state was applied: the loop continues that fit's plan and stop. */
  restored(fit: FitCheckpoint | undefined, stopReason: StopReason | undefined): void {
    this.stopReason = stopReason;
    if (fit) this.plan = planOfCheckpoint(fit);
  }

  async run(data: FitData, opts: FitRunOptions, resume: FitCheckpoint | undefined): Promise<FitResult> {
    const { clock, history } = this.deps;
    const plan: LoopPlan = {
      epochs: opts.epochs,
      batchSize: opts.reportedBatchSize,
      stepsPerEpoch: opts.batchesPerEpoch,
      batchesPerEpoch: opts.batchesPerEpoch,
    };
    this.plan = plan;
    if (resume) {
      continueFit(resume, clock, plan); // counters, stop and history came with the checkpoint
    } else {
      clock.startFit(plan);
      this.stopReason = undefined;
    }
    const time = clock.time;
    const fitHistory = history.filter((h) => resume && h.fitIndex === time.fitIndex);
    const signals = new LoopSignals(this.stopReason !== undefined);
    let fitEndSent = false;
    let epochsRun = firstEpoch(resume);
    this.loopPhase = 'running';
    this.deps.nonFinite.reset();
    try {
      await this.phase(signals, 'onFitStart', {
        epochs: opts.epochs,
        stepsPerEpoch: plan.stepsPerEpoch,
        batchSize: plan.batchSize,
        fitIndex: time.fitIndex,
        hasValidation: data.validation !== undefined,
        resumed: resume !== undefined,
        logKeys: fitLogKeys({
          stepKeys: ['loss', ...this.deps.step.metrics.map((m) => m.name)],
          hyperparamKeys: Object.keys(this.deps.hyperparamLogs()),
          hasValidation: data.validation !== undefined,
          plugins: this.deps.plugins,
        }),
      });
      for (let fitEpoch = epochsRun; fitEpoch < opts.epochs && !signals.stopFit; fitEpoch++) {
        const record = await this.runEpoch(fitEpoch, data, opts, signals, midEpochOf(resume, fitEpoch));
        if (!record) break;
        fitHistory.push(record);
        epochsRun += 1;
      }
      const completed = epochsRun === opts.epochs && this.stopReason === undefined;
      if (completed) clock.fitCompleted();
      fitEndSent = true;
      this.loopPhase = 'fitEnd';
      await this.fitEnd({ history: fitHistory, stopReason: this.stopReason, error: undefined, completed });
      const stopReason = this.stopReason;
      if (stopReason) this.deps.logger.info(`stopped by ${stopReason.by}: ${stopReason.message}`);
      return { history: fitHistory, stopReason, time: snapshotTime(time) };
    } catch (cause) {
      const error =
        cause instanceof TensorloopError ? cause : wrapHookError(cause, 'trainer', 'fit', snapshotTime(time));
      await this.endWithError(error, fitHistory, fitEndSent);
      throw error;
    } finally {
      this.loopPhase = 'idle';
      this.readback.dispose(); // only a fit that threw leaves gated steps unread
      this.deps.nonFinite.reset();
    }
  }

  /** One epoch: start, batches, validation, end. Undefined when a stop at its start ended the fit. */
  private async runEpoch(
    fitEpoch: number,
    data: FitData,
    opts: FitRunOptions,
    signals: LoopSignals,
    mid: MidEpoch | undefined,
  ): Promise<EpochRecord | undefined> {
    const { clock } = this.deps;
    const time = clock.time;
    const started = performance.now();
    clock.startEpoch(fitEpoch, mid?.epochBatch ?? 0);
    signals.stopEpoch = false;
    // A mid-epoch resume continues an epoch whose start was already announced (and whose RNN states
    // a checkpoint cannot hold: resume stateful models from epoch ends).
    if (!mid) {
      this.deps.resetStates();
      await this.phase(signals, 'onEpochStart', { epoch: time.epoch, fitEpoch });
    }
    if (signals.stopFit) return undefined;
    const trained = await this.trainEpoch(data.source, opts, signals, mid);
    this.checkNonFinite(signals);
    const logs: Logs = { ...trained.logs, ...this.deps.hyperparamLogs() };
    const stoppedMidEpoch = signals.stopFit;
    if (data.validation && !stoppedMidEpoch) {
      await this.phase(signals, 'onValidationStart', { epoch: time.epoch });
      this.deps.resetStates();
      const valLogs = await evaluateSource(
        this.deps.step,
        data.validation,
        opts.validationBatchSize,
        'val_',
        opts.dataTimeoutMs,
      );
      Object.assign(logs, valLogs);
      await this.phase(signals, 'onValidationEnd', { epoch: time.epoch, logs: valLogs });
    }
    const record: EpochRecord = { epoch: time.epoch, fitIndex: time.fitIndex, logs };
    this.deps.history.push(record);
    this.loopPhase = 'epochEnd';
    await this.phase(signals, 'onEpochEnd', {
      epoch: time.epoch,
      fitEpoch,
      logs,
      partial: stoppedMidEpoch || signals.stopEpoch,
    });
    this.deps.onEpochDone?.({
      fitEpoch,
      epochs: opts.epochs,
      logs,
      seconds: (performance.now() - started) / 1000,
      partial: stoppedMidEpoch || signals.stopEpoch,
    });
    this.loopPhase = 'running';
    const plan = this.plan!;
    if (plan.batchesPerEpoch === undefined && fitEpoch === 0 && !trained.cutShort) {
      // An iterable of unknown length told us its length: fraction now moves per batch.
      this.plan = { ...plan, batchesPerEpoch: trained.batches, stepsPerEpoch: trained.batches };
      clock.learnPlan(this.plan);
    }
    clock.epochDone(fitEpoch);
    return record;
  }

  /** The batches of one epoch, then the flush of an unfinished accumulation window. */
  private async trainEpoch(
    source: DataSource,
    opts: FitRunOptions,
    signals: LoopSignals,
    mid: MidEpoch | undefined,
  ): Promise<{ logs: Logs; batches: number; cutShort: boolean }> {
    const { rng, clock } = this.deps;
    const log = new EpochLog(['loss', ...this.deps.step.metrics.map((m) => m.name)], this.deps.smoothing);
    const k = this.deps.accumulateBatches;
    const accumulator = k > 1 ? new GradientAccumulator(k) : undefined;
    let batches = 0;
    let cutShort = false;
    if (mid) replayEpochStart(mid, rng, log);
    this.epochRun = { log, accumulator, startRng: rng.getState() };
    try {
      const iterator = batchesWithinTimeout(
        source.epoch({
          batchSize: opts.batchSize,
          shuffle: opts.shuffle,
          rng,
          batchesPerEpoch: opts.stepsPerEpoch,
        }),
        opts.dataTimeoutMs,
        (i) => `batch ${i} of epoch ${clock.time.epoch}`,
      );
      for await (const pending of iterator) {
        if (trainedBeforeCheckpoint(mid, batches)) {
          pending.release();
          batches += 1;
          continue;
        }
        try {
          await this.runBatch(pending, log, signals, accumulator);
        } finally {
          pending.release();
        }
        batches += 1;
        if (signals.stopFit || signals.stopEpoch) {
          cutShort = true;
          break;
        }
        await this.deps.yieldPolicy?.due(); // lets a page repaint and handle input (yield-policy.ts)
      }
      // A window cut by the end of the epoch still steps (rescaled to a mean); one cut by a stop of
      // the whole fit is dropped.
      if (accumulator && !signals.stopFit) {
        const flushed = flushAccumulated(this.deps.step, accumulator);
        if (flushed.stepped) clock.optimizerStepped();
        this.readback.addGate(flushed.pending);
      }
      return { logs: await log.read((t) => this.readback.read(t)), batches, cutShort };
    } finally {
      log.dispose();
      accumulator?.dispose();
      this.epochRun = undefined;
    }
  }

  /** One batch: start, the step, end (with host values only when someone reads them). */
  private async runBatch(
    pending: PendingBatch,
    log: EpochLog,
    signals: LoopSignals,
    accumulator: GradientAccumulator | undefined,
  ): Promise<void> {
    const { clock, hooks } = this.deps;
    const time = clock.time;
    const batchIndex = time.epochBatch;
    signals.skipBatch = false;
    if (hooks.has('onBatchStart')) {
      await this.phase(signals, 'onBatchStart', { batch: batchIndex, size: pending.size });
    }
    let output: StepOutput | undefined;
    let loss: tf.Scalar | undefined;
    try {
      if (!signals.skipBatch && !signals.stopFit) {
        output = trainStep(this.deps.step, pending, accumulator, stepSeed(this.deps.seed, time.batch));
        clock.trained(pending.size, output.stepped);
        this.readback.addGate(output.pending);
      }
      clock.batchConsumed();
      if (!hooks.has('onBatchEnd')) {
        if (output) log.add(output.values, pending.size);
        output = undefined;
        return;
      }
      const row = output?.values;
      const trained = output !== undefined;
      const stepped = output?.stepped ?? false;
      const logs = row ? await this.batchLogs(row) : undefined;
      if (logs) this.checkNonFinite(signals);
      // The epoch log owns the row from here (read once at the epoch end; a checkpoint taken in
      // onBatchEnd includes this batch).
      if (output) log.add(output.values, pending.size);
      output = undefined;
      this.loopPhase = 'batchEnd';
      await this.phase(signals, 'onBatchEnd', {
        batch: batchIndex,
        size: pending.size,
        skipped: !trained,
        stepped,
        logs,
        // Made on first read only: most batch-end handlers never touch the device loss.
        get loss() {
          if (row && !loss) loss = tf.tidy(() => tf.reshape(tf.slice(row, 0, 1), [])) as tf.Scalar;
          return loss;
        },
      });
      // A checkpoint taken in onBatchEnd reads pending steps too: a non-finite one found there stops now.
      this.checkNonFinite(signals);
    } finally {
      this.loopPhase = 'running';
      output?.values.dispose();
      loss?.dispose();
      clock.batchDone(batchIndex);
    }
  }

  /** Host values of a batch row, when a plugin needs them every batch or `logEvery` asks for this one. */
  private async batchLogs(row: tf.Tensor1D): Promise<Logs | undefined> {
    const { needsBatchLogs, logEvery, step } = this.deps;
    if (!needsBatchLogs && !(logEvery !== undefined && this.deps.clock.time.batch % logEvery === 0)) {
      return undefined;
    }
    const values = await this.readback.read(row);
    const logs: Logs = { loss: values[0]! };
    step.metrics.forEach((m, i) => {
      logs[m.name] = values[i + 1]!;
    });
    return logs;
  }

  /** Dispatch one phase's event and fold what its handlers return. */
  private async phase<K extends CoreEventName>(
    signals: LoopSignals,
    hook: K,
    event: HookEvents[K],
  ): Promise<void> {
    signals.fold(await this.deps.hooks.emit(hook, event, (r) => this.recordStop(r)));
  }

  /**
   * After a read-back: a non-finite step found by it ends the fit (`onNonFinite: 'stop'`, a stop
   * raised by the trainer before the next event, which every plugin still sees) or throws
   * `TL_NON_FINITE` (`'throw'`).
   */
  private checkNonFinite(signals: LoopSignals): void {
    const found = this.deps.nonFinite.found;
    if (!found) return;
    if (this.deps.nonFinite.mode === 'throw') throw this.deps.nonFinite.error(found);
    signals.stopFit = true;
    this.stopReason ??= { by: 'trainer', message: found.message, hook: 'onNonFinite', time: found.time };
  }

  /** The first stop of a fit wins; recorded once, as soon as it is raised (later handlers see it). */
  private recordStop(raised: RaisedSignal): void {
    if (raised.signal.signal !== 'stop') return;
    this.stopReason ??= {
      by: raised.plugin,
      message: raised.signal.reason,
      hook: raised.hook,
      time: snapshotTime(this.deps.clock.time),
    };
  }

  /**
   * `onFitEnd` of a fit that ended well: every plugin gets it even when one's handler throws (a
   * failing logger must not keep a checkpoint or a report from closing); the first failure is then
   * thrown and the error path sends `onException`.
   */
  private async fitEnd(event: HookEvents['onFitEnd']): Promise<void> {
    let first: TensorloopError | undefined;
    await this.deps.hooks.emitIsolated('onFitEnd', event, (plugin, cause) => {
      first ??= wrapHookError(cause, plugin, 'onFitEnd', snapshotTime(this.deps.clock.time));
    });
    if (first) throw first;
  }

  /** The error path: `onException`, then `onFitEnd` if not sent yet, each handler isolated. */
  private async endWithError(
    error: TensorloopError,
    history: readonly EpochRecord[],
    fitEndSent: boolean,
  ): Promise<void> {
    const { hooks, logger } = this.deps;
    const report = (hook: string) => (plugin: string, cause: unknown) =>
      logger.warn(
        `${plugin}.${hook} failed while handling an earlier error: ${(cause as Error)?.message ?? String(cause)}`,
      );
    await hooks.emitIsolated('onException', { error }, report('onException'));
    if (!fitEndSent) {
      await hooks.emitIsolated(
        'onFitEnd',
        { history, stopReason: this.stopReason, error, completed: false },
        report('onFitEnd'),
      );
    }
  }
}
