import type { DataInput, FitOptions, Plugin, Trainer } from '@tensorloop/core';

/**
 * A resume-contract scenario: builds a trainer from scratch, exactly as a fresh process would.
 * The module that defines it default-exports it (compiled JS, run in child processes).
 */
export interface ContractScenario {
  /** `extraPlugins` (the harness's interrupter) must be appended to the trainer's plugins. */
  create(extraPlugins: Plugin[]): Promise<ContractRun>;
}

export interface ContractRun {
  readonly trainer: Trainer;
  readonly data: DataInput;
  /** The fit's options, `epochs` included (the total of the uninterrupted run). */
  readonly fit: Omit<FitOptions, 'resumeFrom'>;
  /**
   * Plugin decisions to compare (stop epoch, lr values, phase transitions): each call returns the
   * decisions made since the last call, in order.
   */
  readonly takeDecisions?: () => unknown[];
  /**
   * Drives the run instead of `trainer.fit(data, fit)` (a multi-stage driver such as the
   * meta-trainer): called with the checkpoint to resume from in the resumed process, undefined
   * otherwise. Returns the run's stop reason, if it stopped.
   */
  readonly run?: (resumeFrom: string | undefined) => Promise<{ by: string; message: string } | undefined>;
}

/** Where the first process is interrupted (right after a checkpoint at that point). */
export type Interruption = { readonly afterEpoch: number } | { readonly atStep: number };

export interface RunResult {
  readonly weights: Record<string, number[]>;
  readonly history: unknown[];
  readonly time: unknown;
  readonly stopReason: { by: string; message: string } | null;
  readonly decisions: unknown[];
}
