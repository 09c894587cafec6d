import * as tf from '@tensorflow/tfjs';
import { type FitResult, type LogEntry, type Plugin, TensorloopError } from '@tensorloop/core';
import { memoryProbe } from './companions.js';
import { Instrument } from './instrument.js';
import type { LoadedPlugin } from './plugin-source.js';
import { buildRun, type KitRun, type KitSetup } from './setup.js';

/** What `checkPlugin` was asked to check, loaded. */
export interface Subject {
  readonly loaded: LoadedPlugin;
  readonly companions: readonly LoadedPlugin[];
  readonly setup: KitSetup;
  readonly name: string;
}

/** One fit of a kit run: its result or its error, and the tensors alive after it. */
export interface FitOutcome {
  readonly result: FitResult | undefined;
  readonly error: unknown;
  /** `numTensors` after the fit minus before the first one (data and model excluded). */
  readonly held: number;
}

export interface KitRunOutcome {
  /** The plugin instance under test in this run (the original object, not the instrumented copy). */
  readonly plugin: Plugin;
  readonly instrument: Instrument;
  readonly fits: FitOutcome[];
  /** `numTensors` at the end of every epoch of every fit, after every plugin's onEpochEnd. */
  readonly epochCounts: number[];
  readonly logs: LogEntry[];
  readonly run: KitRun;
}

export interface KitRunOptions {
  /** Names the run in hyperparameter writes (`main`, `stop`, ...). */
  readonly label: string;
  /** Companions of this run (stopper, skipper, thrower), after the plugin under test. */
  readonly extra?: readonly Plugin[];
  /** Epochs of each fit, in order (one `fit()` call each, on the same trainer). */
  readonly fits: readonly number[];
  /** The plugin instance to use (default: a new one). */
  readonly plugin?: Plugin;
}

/** Frees what a discarded plugin instance still holds in `stateTensors()` (its own tensors). */
export function releasePlugin(plugin: Plugin): void {
  try {
    const tensors = Object.values(plugin.stateTensors?.() ?? {});
    tf.dispose(tensors.filter((t) => !t.isDisposed));
  } catch {
    // A plugin whose stateTensors() throws is reported by the state check; nothing to free here.
  }
}

/** Trains the plugin under test (instrumented) with its companions; never throws for a failed fit. */
export async function kitRun(subject: Subject, options: KitRunOptions): Promise<KitRunOutcome> {
  const plugin = options.plugin ?? subject.loaded.make();
  const instrument = new Instrument(options.label);
  const probe = memoryProbe();
  const logs: LogEntry[] = [];
  const run = buildRun(
    [instrument.wrap(plugin), ...subject.companions.map((c) => c.make()), ...(options.extra ?? []), probe],
    subject.setup,
    { log: (entry) => void logs.push(entry) },
  );
  const fits: FitOutcome[] = [];
  const before = tf.memory().numTensors;
  for (const epochs of options.fits) {
    let result: FitResult | undefined;
    let error: unknown;
    try {
      result = await run.trainer.fit(run.data, { ...run.fit, epochs });
    } catch (e) {
      error = e;
    }
    fits.push({ result, error, held: tf.memory().numTensors - before });
  }
  return { plugin, instrument, fits, epochCounts: probe.counts, logs, run };
}

/** A readable one-line description of an error from a fit. */
export function describeError(error: unknown): string {
  const text =
    error instanceof TensorloopError
      ? error.message
      : error instanceof Error
        ? `${error.name}: ${error.message}`
        : String(error);
  return text.length > 400 ? `${text.slice(0, 397)}...` : text;
}

/** Runs `body` on a tfjs backend and switches back afterwards. */
export async function onBackend<T>(backend: string, body: () => Promise<T>): Promise<T> {
  const previous = tf.getBackend();
  if (previous !== backend) await tf.setBackend(backend);
  try {
    return await body();
  } finally {
    if (previous && tf.getBackend() !== previous) await tf.setBackend(previous);
  }
}
