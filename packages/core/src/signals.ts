/**
 * Control signals (DESIGN §5). Hooks steer the loop by returning one of these; they never set flags
 * or throw. Every plugin still sees the event; the first `stop` wins and becomes `stopReason`.
 */
export interface StopSignal {
  readonly signal: 'stop';
  readonly reason: string;
}
/** End the current epoch after this event; validation and `onEpochEnd` still run. */
export interface StopEpochSignal {
  readonly signal: 'stopEpoch';
  readonly reason: string;
}
/** Skip this batch: no forward pass, no optimizer step (the batch is still consumed). */
export interface SkipBatchSignal {
  readonly signal: 'skipBatch';
  readonly reason: string;
}
export type Signal = StopSignal | StopEpochSignal | SkipBatchSignal;

export const stop = (reason: string): StopSignal => ({ signal: 'stop', reason });
export const stopEpoch = (reason: string): StopEpochSignal => ({ signal: 'stopEpoch', reason });
export const skipBatch = (reason: string): SkipBatchSignal => ({ signal: 'skipBatch', reason });

/** Which signals each core hook can honour. A hook not listed here may only return nothing. */
export interface HookSignalMap {
  onFitStart: StopSignal;
  onEpochStart: StopSignal | StopEpochSignal;
  onBatchStart: StopSignal | StopEpochSignal | SkipBatchSignal;
  onBatchEnd: StopSignal | StopEpochSignal;
  onValidationEnd: StopSignal;
  onEpochEnd: StopSignal;
}

export const SIGNALS_ALLOWED: { readonly [K in keyof HookSignalMap]: readonly Signal['signal'][] } = {
  onFitStart: ['stop'],
  onEpochStart: ['stop', 'stopEpoch'],
  onBatchStart: ['stop', 'stopEpoch', 'skipBatch'],
  onBatchEnd: ['stop', 'stopEpoch'],
  onValidationEnd: ['stop'],
  onEpochEnd: ['stop'],
};

export function isSignal(value: unknown): value is Signal {
  if (typeof value !== 'object' || value === null) return false;
  const s = (value as { signal?: unknown }).signal;
  return s === 'stop' || s === 'stopEpoch' || s === 'skipBatch';
}
