/**
 * A local stand-in for `TensorloopError` from `@tensorloop/core`: same `name`, same `code` and
 * message shape, so callers can test `err.name === 'TensorloopError' && err.code === ...`.
 * NOTE(lead): switch to `import { TensorloopError } from '@tensorloop/core'` (peer + workspace
 * devDependency) once core's index exports it; kept local so this package does not block on core.
 */
export type BackendWasmErrorCode = 'TL_BACKEND_UNAVAILABLE';

export class TensorloopError extends Error {
  override readonly name = 'TensorloopError';
  readonly code: BackendWasmErrorCode;

  constructor(code: BackendWasmErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[${code}] ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
