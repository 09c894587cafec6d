/**
 * Stable error codes. A code never changes meaning once released; new codes may be added.
 * Messages say what was expected and how to fix it.
 */
export type TensorloopErrorCode =
  | 'TL_PLUGIN_CYCLE'
  | 'TL_PLUGIN_MISSING'
  | 'TL_PLUGIN_DUPLICATE'
  | 'TL_PLUGIN_INVALID'
  | 'TL_PLUGIN_NOT_FOUND'
  | 'TL_PLUGIN_CONFLICT'
  | 'TL_HOOK_FAILED'
  | 'TL_SIGNAL_INVALID'
  | 'TL_EVENT_INVALID'
  | 'TL_SHAPE_MISMATCH'
  | 'TL_DATA_INVALID'
  | 'TL_DATA_NOT_FINITE'
  | 'TL_LOSS_UNKNOWN'
  | 'TL_METRIC_UNKNOWN'
  | 'TL_OPTION_INVALID'
  | 'TL_MODEL_INVALID'
  | 'TL_OPTIMIZER_INVALID'
  | 'TL_HPARAM_CONFLICT'
  | 'TL_HPARAM_UNKNOWN'
  | 'TL_FIT_CONCURRENT'
  | 'TL_BACKEND_UNAVAILABLE'
  | 'TL_CHECKPOINT_CORRUPT'
  | 'TL_CHECKPOINT_INVALID'
  | 'TL_CHECKPOINT_IO'
  | 'TL_SCHEDULE_INVALID'
  | 'TL_MONITOR_UNKNOWN'
  | 'TL_WORKER_FAILED'
  | 'TL_NON_FINITE'
  | 'TL_DATA_TIMEOUT'
  | 'TL_DATA_FAILED';

export interface TensorloopErrorDetails {
  /** The plugin that raised or caused the error, when there is one. */
  plugin?: string;
  /** The hook that was running. */
  hook?: string;
  /** Training time when it happened (epoch, step, ...). */
  time?: Readonly<Record<string, number>>;
  cause?: unknown;
}

export class TensorloopError extends Error {
  override readonly name = 'TensorloopError';
  readonly code: TensorloopErrorCode;
  readonly plugin: string | undefined;
  readonly hook: string | undefined;
  readonly time: Readonly<Record<string, number>> | undefined;

  constructor(code: TensorloopErrorCode, message: string, details: TensorloopErrorDetails = {}) {
    super(`[${code}] ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.plugin = details.plugin;
    this.hook = details.hook;
    this.time = details.time;
  }
}

export function isTensorloopError(value: unknown, code?: TensorloopErrorCode): value is TensorloopError {
  return value instanceof TensorloopError && (code === undefined || value.code === code);
}
