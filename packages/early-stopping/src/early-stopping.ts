import {
  definePlugin,
  type EpochEndEvent,
  isBetter,
  type Plugin,
  readMonitor,
  type StopSignal,
  stop,
  TensorloopError,
  type TrainerContext,
} from '@tensorloop/core';
import { BestWeights } from './best-weights.js';
import {
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
  const improves = (value: number) =>
    isBetter(value, best ?? (o.mode === 'min' ? Infinity : -Infinity), o.mode, o.minDelta);
  const reachedStop = (value: number) =>
    o.stoppingThreshold !== undefined &&
    (o.mode === 'min' ? value < o.stoppingThreshold : value > o.stoppingThreshold);
  const diverged = (value: number) =>
    o.divergenceThreshold !== undefined &&
    (o.mode === 'min' ? value > o.divergenceThreshold : value < o.divergenceThreshold);

  function onEpochEnd(ctx: TrainerContext, event: EpochEndEvent): StopSignal | undefined {
    // A cut-short epoch has no validation logs and averages over part of the data: not comparable.
    if (event.partial) return undefined;
    const value = readMonitor(event.logs, o.monitor, o.name);
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
    const improved = improves(value);
    if (improved) {
      const previous = best;
      best = value;
      bestEpoch = event.epoch;
      if (o.restoreBestWeights) takeSnapshot(ctx, event.epoch);
      const beatsBaseline = o.baseline === undefined || isBetter(value, o.baseline, o.mode, o.minDelta);
      // Keras: the count restarts only once the baseline is beaten too.
      if (beatsBaseline) wait = 0;
      say(
        ctx,
        previous === undefined
          ? describeFirst(o.monitor, value)
          : describeImprovement(o.monitor, previous, value),
      );
      if (!beatsBaseline) say(ctx, describeBelowBaseline(o.monitor, o.baseline!, wait, o.patience));
    }
    if (reachedStop(value)) {
      return halt(
        ctx,
        event.epoch,
        `${o.monitor} = ${formatValue(value)} reached the stopping threshold ${formatValue(o.stoppingThreshold!)}`,
      );
    }
    if (diverged(value)) {
      return halt(
        ctx,
        event.epoch,
        `${o.monitor} = ${formatValue(value)} is worse than the divergence threshold ${formatValue(o.divergenceThreshold!)}: training diverged`,
      );
    }
    if (improved) return undefined;
    const trend = describeTrend(
      o.monitor,
      o.mode,
      ctx.history.filter((r) => r.epoch >= origin! + o.startFromEpoch),
    );
    // Keras does not stop on the first epoch it watches, whatever the patience.
    if (wait >= o.patience && watched > 0) {
      const why =
        best !== undefined && o.baseline !== undefined && !isBetter(best, o.baseline, o.mode, o.minDelta)
          ? `${o.monitor} did not reach the baseline ${formatValue(o.baseline)} in ${wait} epochs (${bestText()})`
          : `no improvement in ${o.monitor} for ${wait} epoch${wait === 1 ? '' : 's'} (${bestText()})`;
      return halt(ctx, event.epoch, trend === undefined ? why : `${why}; ${trend}`);
    }
    say(ctx, describeWait(o.monitor, wait, o.patience, best, bestEpoch));
    if (trend !== undefined) say(ctx, trend);
    return undefined;
  }

  const api: EarlyStoppingApi = {
    monitor: o.monitor,
    mode: o.mode,
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
    describe: () => describeOptions(o),
    onFitStart(ctx, event) {
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
        mode: o.mode,
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
      if (s.monitor !== o.monitor || s.mode !== o.mode) {
        throw new TensorloopError(
          'TL_CHECKPOINT_INVALID',
          `[${o.name}] the checkpoint's early-stopping state watches ${s.monitor} (${s.mode}), this plugin watches ${o.monitor} (${o.mode}). Resume with the same monitor and mode, or give this instance another name to start afresh.`,
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

function describeOptions(o: ResolvedOptions): string[] {
  const parts = [`monitor ${o.monitor} (${o.mode})`, `patience ${o.patience}`];
  if (o.minDelta > 0) parts.push(`minDelta ${o.minDelta}`);
  if (o.baseline !== undefined) parts.push(`baseline ${o.baseline}`);
  if (o.startFromEpoch > 0) parts.push(`from epoch ${o.startFromEpoch} of the fit`);
  if (o.stoppingThreshold !== undefined) parts.push(`stop at ${o.stoppingThreshold}`);
  if (o.divergenceThreshold !== undefined) parts.push(`diverged past ${o.divergenceThreshold}`);
  const lines = [parts.join(', ')];
  if (o.restoreBestWeights) lines.push('restores the best weights when the fit ends');
  return lines;
}
