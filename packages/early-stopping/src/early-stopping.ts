import {
  checkMonitorKey,
  definePlugin,
  type EpochEndEvent,
  inferMonitorMode,
  isBetter,
  type Plugin,
  readMonitor,
  resolveMonitorMode,
  type StopSignal,
  stop,
  TensorloopError,
  type TrainerContext,
} from '@tensorloop/core';
import { BestWeights } from './best-weights.js';
import {
  checkThresholds,
  type EarlyStoppingOptions,
  type PLUGIN_NAME,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import { type EarlyStoppingState, parseState } from './state.js';
import {
  describeBelowBaseline,
  describeFirst,
  describeImprovement,
  describeTrend,
  describeWait,
  describeWarmup,
  formatValue,
} from './trend.js';

/** What `ctx.plugin('@tensorloop/early-stopping')` returns. */
export interface EarlyStoppingApi {
  readonly monitor: string;
  /**
   * The direction compared in (`mode: 'auto'` decided: see the option). Read before the first fit
   * for a key whose direction auto cannot tell, it throws the `TL_OPTION_INVALID` the fit would.
   */
  readonly mode: 'min' | 'max';
  /** Best monitored value of the current stage, or undefined before the first one. */
  readonly best: number | undefined;
  /** Global epoch of `best`. */
  readonly bestEpoch: number | undefined;
  /** Epochs without improvement so far. */
  readonly wait: number;
  /** Epoch at which this plugin stopped the current fit, if it did. */
  readonly stoppedEpoch: number | undefined;
  /** Epoch of the weights held for `restoreBestWeights`, if any. */
  readonly bestWeightsEpoch: number | undefined;
}

const mib = (bytes: number) =>
  bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * Stop training when the monitored value stops improving (Keras `EarlyStopping` semantics, Lightning's
 * thresholds and non-finite check), optionally putting the best epoch's weights back when the fit ends.
 * Its state, best weights included, is checkpointed, so a resumed run decides exactly as an
 * uninterrupted one.
 */
export function earlyStopping(options: EarlyStoppingOptions = {}): Plugin<'@tensorloop/early-stopping'> {
  const o = resolveOptions(options);
  const name = o.name as typeof PLUGIN_NAME;
  let mode = inferMonitorMode(o.monitor, o.requestedMode);
  /** The direction, decided once the trainer (and its metric specs) exists; throws when auto cannot tell. */
  const decideMode = (directions?: ReadonlyMap<string, 'min' | 'max'>): 'min' | 'max' => {
    mode = resolveMonitorMode(o.monitor, o.requestedMode, o.name, directions);
    checkThresholds(o, mode);
    return mode;
  };
  let best: number | undefined;
  let bestEpoch: number | undefined;
  let wait = 0;
  let origin: number | undefined;
  let stoppedEpoch: number | undefined;
  let snapshot: BestWeights | undefined;
  let omittedBytes: number | undefined;
  let sizeWarned = false;

  const snapshotFits = () => snapshot !== undefined && snapshot.bytes <= o.maxStateBytes;
  const dropSnapshot = () => {
    snapshot?.dispose();
    snapshot = undefined;
    omittedBytes = undefined;
  };
  const reset = (epoch: number) => {
    best = undefined;
    bestEpoch = undefined;
    wait = 0;
    origin = epoch;
    dropSnapshot();
  };
  const say = (ctx: TrainerContext, message: string) => {
    if (o.verbose) ctx.logger.info(message);
  };
  const halt = (ctx: TrainerContext, epoch: number, reason: string): StopSignal => {
    stoppedEpoch = epoch;
    say(ctx, `stopping: ${reason}`);
    return stop(reason);
  };
  const bestText = () =>
    best === undefined ? 'no best value yet' : `best ${o.monitor} ${formatValue(best)} at epoch ${bestEpoch}`;

  const takeSnapshot = (ctx: TrainerContext, epoch: number) => {
    snapshot?.dispose();
    snapshot = BestWeights.capture(ctx.model, epoch);
    omittedBytes = undefined;
    if (!sizeWarned && snapshot.bytes > o.maxStateBytes) {
      sizeWarned = true;
      ctx.logger.warn(
        `the best weights (${mib(snapshot.bytes)}) are larger than maxStateBytes (${mib(o.maxStateBytes)}), so checkpoints will not carry them: a run resumed from a checkpoint can only restore a best epoch found after the resume. Raise maxStateBytes (Infinity is allowed) to include them.`,
      );
    }
  };

  /** Keras rule: the monitored value must beat the best by more than minDelta; ties never do. */
  const improves = (value: number, m: 'min' | 'max') =>
    isBetter(value, best ?? (m === 'min' ? Infinity : -Infinity), m, o.minDelta);
  const reachedStop = (value: number, m: 'min' | 'max') =>
    o.stoppingThreshold !== undefined &&
    (m === 'min' ? value < o.stoppingThreshold : value > o.stoppingThreshold);
  const diverged = (value: number, m: 'min' | 'max') =>
    o.divergenceThreshold !== undefined &&
    (m === 'min' ? value > o.divergenceThreshold : value < o.divergenceThreshold);
  /** Keras (and Lightning) stop at the `patience`-th epoch without improvement; PyTorch's word means one more. */
  const patienceRunOut = () => (o.counting === 'keras' ? wait >= o.patience : wait > o.patience);
  /** Epochs without improvement the plugin waits for, as messages count them. */
  const allowed = o.counting === 'keras' ? o.patience : o.patience + 1;

  function onEpochEnd(ctx: TrainerContext, event: EpochEndEvent): StopSignal | undefined {
    // A cut-short epoch has no validation logs and averages over part of the data: not comparable.
    if (event.partial) return undefined;
    const m = mode ?? decideMode();
    const value = readMonitor(event.logs, o.monitor, o.name, ctx.logger);
    origin ??= event.epoch;
    const watched = event.epoch - origin;
    if (o.checkFinite && !Number.isFinite(value)) {
      return halt(ctx, event.epoch, `${o.monitor} = ${formatValue(value)} is not finite (${bestText()})`);
    }
    if (watched < o.startFromEpoch) {
      say(ctx, describeWarmup(o.monitor, value, origin + o.startFromEpoch));
      return undefined;
    }
    wait += 1;
    const improved = improves(value, m);
    if (improved) {
      const previous = best;
      best = value;
      bestEpoch = event.epoch;
      if (o.restoreBestWeights) takeSnapshot(ctx, event.epoch);
      const beatsBaseline = o.baseline === undefined || isBetter(value, o.baseline, m, o.minDelta);
      // Keras: the count restarts only once the baseline is beaten too.
      if (beatsBaseline) wait = 0;
      say(
        ctx,
        previous === undefined
          ? describeFirst(o.monitor, value)
          : describeImprovement(o.monitor, previous, value),
      );
      if (!beatsBaseline) say(ctx, describeBelowBaseline(o.monitor, o.baseline!, wait, allowed));
    }
    if (reachedStop(value, m)) {
      return halt(
        ctx,
        event.epoch,
        `${o.monitor} = ${formatValue(value)} reached the stopping threshold ${formatValue(o.stoppingThreshold!)}`,
      );
    }
    if (diverged(value, m)) {
      return halt(
        ctx,
        event.epoch,
        `${o.monitor} = ${formatValue(value)} is worse than the divergence threshold ${formatValue(o.divergenceThreshold!)}: training diverged`,
      );
    }
    if (improved) return undefined;
    const trend = describeTrend(
      o.monitor,
      m,
      ctx.history.filter((r) => r.epoch >= origin! + o.startFromEpoch),
    );
    // Keras does not stop on the first epoch it watches, whatever the patience.
    if (patienceRunOut() && watched > 0) {
      const why =
        best !== undefined && o.baseline !== undefined && !isBetter(best, o.baseline, m, o.minDelta)
          ? `${o.monitor} did not reach the baseline ${formatValue(o.baseline)} in ${wait} epochs (${bestText()})`
          : `no improvement in ${o.monitor} for ${wait} epoch${wait === 1 ? '' : 's'} (${bestText()})`;
      return halt(ctx, event.epoch, trend === undefined ? why : `${why}; ${trend}`);
    }
    say(ctx, describeWait(o.monitor, wait, allowed, best, bestEpoch));
    if (trend !== undefined) say(ctx, trend);
    return undefined;
  }

  const api: EarlyStoppingApi = {
    monitor: o.monitor,
    get mode() {
      return mode ?? decideMode();
    },
    get best() {
      return best;
    },
    get bestEpoch() {
      return bestEpoch;
    },
    get wait() {
      return wait;
    },
    get stoppedEpoch() {
      return stoppedEpoch;
    },
    get bestWeightsEpoch() {
      return snapshot?.epoch;
    },
  };

  return definePlugin({
    name,
    api,
    // restore-best puts the best epoch's weights back when the fit ends
    ...(o.restoreBestWeights ? { writesWeights: 'fitEnd' as const } : {}),
    describe: () => describeOptions(o, mode),
    onFitStart(ctx, event) {
      checkMonitorKey(o.monitor, event.logKeys, o.name);
      decideMode(ctx.metricDirections);
      stoppedEpoch = event.resumed ? stoppedEpoch : undefined;
      const keep = event.resumed ? origin !== undefined : o.persistAcrossFits && origin !== undefined;
      if (!keep) reset(ctx.time.epoch);
      if (event.resumed && o.restoreBestWeights && bestEpoch !== undefined && snapshot === undefined) {
        ctx.logger.warn(
          `the checkpoint does not hold the weights of the best epoch ${bestEpoch}${
            omittedBytes === undefined ? '' : ` (${mib(omittedBytes)}, over maxStateBytes)`
          }: only a better epoch found from now on can be restored.`,
        );
      }
    },
    onEpochEnd,
    onFitEnd: {
      // Before other plugins' onFitEnd, so that a plugin saving or exporting the final model gets the best weights.
      order: 'pre',
      handler(ctx, event) {
        if (o.restoreBestWeights && snapshot !== undefined && event.error === undefined) {
          snapshot.restoreInto(ctx.model);
          const last = event.history.at(-1)?.epoch;
          say(
            ctx,
            snapshot.epoch === last
              ? `the last epoch (${last}) was the best: its weights are kept`
              : `restored the weights of epoch ${snapshot.epoch}, the best (${o.monitor} ${formatValue(best ?? Number.NaN)})`,
          );
        }
        if (!o.persistAcrossFits) dropSnapshot();
      },
    },
    state: (): EarlyStoppingState => {
      const fits = snapshotFits();
      return {
        monitor: o.monitor,
        mode: mode ?? decideMode(),
        best: best ?? null,
        bestEpoch: bestEpoch ?? null,
        wait,
        origin: origin ?? null,
        stoppedEpoch: stoppedEpoch ?? null,
        bestWeights: fits ? { epoch: snapshot!.epoch, bytes: snapshot!.bytes } : null,
        omittedBytes: snapshot !== undefined && !fits ? snapshot.bytes : (omittedBytes ?? null),
      };
    },
    stateTensors: () => (snapshotFits() ? snapshot!.tensorMap() : {}),
    parseState: (saved) => parseState(saved, o.name),
    loadState(s, _version, tensors) {
      const m = mode ?? decideMode();
      if (s.monitor !== o.monitor || s.mode !== m) {
        throw new TensorloopError(
          'TL_CHECKPOINT_INVALID',
          `[${o.name}] the checkpoint's early-stopping state watches ${s.monitor} (${s.mode}), this plugin watches ${o.monitor} (${m}). Resume with the same monitor and mode, or give this instance another name to start afresh.`,
          { plugin: o.name },
        );
      }
      dropSnapshot();
      best = s.best ?? undefined;
      bestEpoch = s.bestEpoch ?? undefined;
      wait = s.wait;
      origin = s.origin ?? undefined;
      stoppedEpoch = s.stoppedEpoch ?? undefined;
      if (o.restoreBestWeights && s.bestWeights !== null) {
        const { epoch, weights } = s.bestWeights;
        snapshot = weights
          ? BestWeights.deserialize({ ...s.bestWeights, weights })
          : BestWeights.fromTensors(epoch, tensors);
      }
      omittedBytes = s.omittedBytes ?? undefined;
    },
  });
}

function describeOptions(o: ResolvedOptions, mode: 'min' | 'max' | undefined): string[] {
  const parts = [
    `monitor ${o.monitor} (${mode ?? 'auto: decided at fit start'})`,
    `patience ${o.patience}${o.counting === 'pytorch' ? ' (pytorch counting: stops after patience + 1)' : ''}`,
  ];
  if (o.minDelta > 0) parts.push(`minDelta ${o.minDelta}`);
  if (o.baseline !== undefined) parts.push(`baseline ${o.baseline}`);
  if (o.startFromEpoch > 0) parts.push(`from epoch ${o.startFromEpoch} of the fit`);
  if (o.stoppingThreshold !== undefined) parts.push(`stop at ${o.stoppingThreshold}`);
  if (o.divergenceThreshold !== undefined) parts.push(`diverged past ${o.divergenceThreshold}`);
  const lines = [parts.join(', ')];
  if (o.restoreBestWeights) lines.push('restores the best weights when the fit ends');
  return lines;
}
