import type { FitResult, LogEntry, Plugin } from '@tensorloop/core';
import { buildRun, type KitRun, type KitSetup } from './setup.js';

export interface RunWithPluginsOptions extends KitSetup {
  /** Epochs of each `fit()` call, in order, on the same trainer. Default: one fit of `epochs`. */
  readonly fits?: readonly number[];
  /** Where the trainer's messages go. Default: nowhere. */
  readonly log?: (entry: LogEntry) => void;
}

export interface PluginRun {
  /** The trainer, after its fits (its model is yours to inspect until `dispose()`). */
  readonly trainer: KitRun['trainer'];
  /** One result per `fit()` call. */
  readonly results: readonly FitResult[];
  /** The last fit's result. */
  readonly result: FitResult;
  /** The training and validation tensors of the run (freed by `dispose()`). */
  readonly data: KitRun['data'];
  readonly validationData: KitRun['validationData'];
  /** Frees the model, the optimizer and the data. */
  dispose(): void;
}

/**
 * Trains a tiny deterministic model (a kit setup: synthetic classification by default, regression
 * or MNIST digits) with `plugins`, for behaviour tests of your own:
 *
 * ```ts
 * const run = await runWithPlugins([myPlugin({ patience: 1 })], { epochs: 4 });
 * expect(run.result.stopReason?.by).toBe('my-plugin');
 * run.dispose();
 * ```
 */
export async function runWithPlugins(
  plugins: readonly Plugin[],
  options: RunWithPluginsOptions = {},
): Promise<PluginRun> {
  const { fits, log, ...setup } = options;
  const run = buildRun(plugins, setup, log ? { log } : {});
  const results: FitResult[] = [];
  try {
    for (const epochs of fits ?? [run.setup.epochs]) {
      results.push(await run.trainer.fit(run.data, { ...run.fit, epochs }));
    }
  } catch (error) {
    run.dispose();
    throw error;
  }
  return {
    trainer: run.trainer,
    results,
    result: results.at(-1)!,
    data: run.data,
    validationData: run.validationData,
    dispose: () => run.dispose(),
  };
}
