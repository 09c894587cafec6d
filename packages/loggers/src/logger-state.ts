import type { JsonValue } from '@tensorloop/core';

/** The checkpointed state of a logger: what it had recorded, and its own `state()`. */
export type LoggerState<S extends JsonValue = JsonValue> = {
  readonly format: 'tensorloop-logger@1';
  readonly epoch: number | null;
  readonly step: number | null;
  /** Epochs seen but not recorded (the logger had failed), with their steps: replayed on resume. */
  readonly missed: [epoch: number, step: number][];
  readonly sink: S | null;
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isCounter = (v: unknown): v is number | null =>
  v === null || (Number.isInteger(v) && (v as number) >= 0);

/** Checks a logger's checkpointed state (it comes from a file: untrusted). Returns what is wrong, or the state. */
export function parseLoggerState(saved: unknown): LoggerState<JsonValue> | string {
  if (!isRecord(saved) || saved.format !== 'tensorloop-logger@1') {
    return 'expected { format: "tensorloop-logger@1", epoch, step, sink }';
  }
  if (!isCounter(saved.epoch) || !isCounter(saved.step)) return 'epoch and step must be integers ≥ 0 or null';
  if (saved.sink === undefined) return 'sink is missing';
  const missed = saved.missed ?? [];
  if (
    !Array.isArray(missed) ||
    !missed.every(
      (m) =>
        Array.isArray(m) &&
        m.length === 2 &&
        isCounter(m[0]) &&
        isCounter(m[1]) &&
        m[0] !== null &&
        m[1] !== null,
    )
  ) {
    return 'missed must be a list of [epoch, step] pairs';
  }
  return { ...(saved as LoggerState<JsonValue>), missed: missed as [number, number][] };
}
