import type { Plugin } from '@tensorloop/core';
import type { Interruption } from './companions.js';
import type { KitRunOptions, KitRunOutcome, Subject } from './kit-run.js';
import type { PluginUnderTest } from './plugin-source.js';
import type { CheckName } from './report.js';
import type { KitSetup, ResolvedSetup } from './setup.js';

export interface ResumeCheckOptions {
  /**
   * Where the interrupted runs stop (each resumed in a fresh process). Default: after epoch 1, and
   * in the middle of epoch 1 (`atStep`), when the setup has more than one step per epoch.
   */
  readonly interruptions?: readonly Interruption[];
  /** Largest allowed weight, log and state-tensor difference. Default 1e-6 (cpu). */
  readonly tolerance?: number;
  /** Compare every plugin's `state()` at every epoch end and at the fit's end. Default true. */
  readonly compareState?: boolean;
  /** Per child process. Default 120 000 ms. */
  readonly timeoutMs?: number;
  /**
   * One process at a time, after the in-process checks: for a plugin that writes files at a fixed
   * path (a checkpoint directory), whose runs must not overlap. Default false: processes run side by
   * side and beside the in-process checks.
   */
  readonly sequential?: boolean;
  /**
   * Fields of the plugin's state filled from the wall clock (a start date, seconds per epoch), which
   * no two runs share: compared by kind (number, string, null), not value. Dot-separated paths of
   * `state()`, `*` for any key or index: `['created', 'epochs.*.seconds']`. Default none.
   */
  readonly volatileState?: readonly string[];
}

export interface CheckOptions {
  /** The training every run does (JSON: the resume check rebuilds it in fresh processes). */
  readonly setup?: KitSetup;
  /**
   * Other plugins trained alongside in every run (after the plugin under test), e.g. one it depends
   * on. Module references keep the resume check in fresh processes.
   */
  readonly with?: readonly PluginUnderTest[];
  /** Leave checks out: `{ timing: false }`. */
  readonly checks?: Partial<Record<Exclude<CheckName, 'load'>, boolean>>;
  /** Backends of the leak check. Default `['cpu', 'wasm']`; wasm only when `@tensorloop/backend-wasm` is installed. */
  readonly backends?: readonly ('cpu' | 'wasm')[];
  readonly resume?: ResumeCheckOptions;
  /** Fail when a hook's mean time per call exceeds a budget (ms): one for all hooks, or per hook. */
  readonly timing?: { readonly budgetMs?: number | Readonly<Record<string, number>> };
  /** `requireWrites`: a declared hyperparameter never written fails the check (default: a note). */
  readonly hparams?: { readonly requireWrites?: boolean };
  /**
   * Weights the plugin puts into the model in `onFitEnd` after another plugin stopped the fit
   * (restoring the best epoch, swapping in averaged weights): `'allow'` (default; reported as a
   * note) or `'forbid'`. Weight changes between the stop and `onFitEnd` always fail.
   */
  readonly weightsAtFitEnd?: 'allow' | 'forbid';
}

/** The shared state of one `checkPlugin` call, handed to every check. */
export interface Kit {
  readonly subject: Subject;
  readonly options: CheckOptions;
  readonly setup: ResolvedSetup;
  /** Epochs of the main run: the setup's, at least 3 (the leak check compares epochs after a warm-up). */
  readonly mainEpochs: number;
  /** The main run on cpu: one fit, instrumented. Run once, shared by leaks, state, hparams and timing. */
  main(): Promise<KitRunOutcome>;
  /** A run of the plugin under test (registered for the hyperparameter check and freed at the end). */
  run(options: KitRunOptions): Promise<KitRunOutcome>;
  /** Every run so far. */
  readonly runs: readonly KitRunOutcome[];
  /** An instance made before any run and never used: its state must not move while others train. */
  readonly bystander: Plugin;
}

export const enabled = (options: CheckOptions, name: Exclude<CheckName, 'load'>): boolean =>
  options.checks?.[name] !== false;
