import { isTensorloopError, TensorloopError } from '../errors.js';

/**
 * `dataTimeoutMs`: the longest a fit waits for its data source to hand over the next batch. A source
 * that stalls (a dead network stream, a generator waiting on a lock) then ends the fit with
 * `TL_DATA_TIMEOUT` instead of hanging it forever; the error path runs as for any other failure
 * (`onException`, `onFitEnd`, tensors released). Undefined: wait as long as it takes.
 */
export function checkDataTimeout(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TensorloopError(
      'TL_OPTION_INVALID',
      `dataTimeoutMs must be a positive number of milliseconds (e.g. 60000); got ${JSON.stringify(value)}. Leave it out to wait without a limit.`,
    );
  }
  return value;
}

function timeoutError(ms: number, waitingFor: string): TensorloopError {
  return new TensorloopError(
    'TL_DATA_TIMEOUT',
    `the data source gave nothing for ${ms} ms while the fit waited for ${waitingFor}; check that the source still produces batches (a stalled stream or generator), or raise fit({ dataTimeoutMs }).`,
  );
}

/**
 * `promise`, or `TL_DATA_TIMEOUT` once `ms` pass first. A value that arrives late is handed to
 * `late` (so whoever made it can release it).
 */
export async function withinDataTimeout<T>(
  promise: Promise<T>,
  ms: number | undefined,
  waitingFor: () => string,
  late: (value: T) => void = () => undefined,
): Promise<T> {
  if (ms === undefined) return promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(timeoutError(ms, waitingFor()));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
    if (timedOut) promise.then(late, () => undefined);
  }
}

/**
 * A failure inside the user's data source (a generator that throws, a dataset whose map fails)
 * becomes `TL_DATA_FAILED` naming the batch; the source's own coded errors (`TL_DATA_INVALID` for a
 * malformed batch) keep their code.
 */
function sourceError(cause: unknown, waitingFor: string): TensorloopError {
  if (cause instanceof TensorloopError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new TensorloopError(
    'TL_DATA_FAILED',
    `the data source threw while the fit waited for ${waitingFor}: ${message}. Fix the source (the error is the cause); a fit resumed from the last checkpoint continues where it was saved.`,
    { cause },
  );
}

/**
 * The batches of `iterator`, each awaited for at most `ms` (no limit when undefined); a source
 * that throws ends the fit with `TL_DATA_FAILED`. On a timeout the stalled iterator is
 * asked to finish without waiting for it (a stalled generator cannot run its `finally` until its
 * pending `next()` settles), and a batch it yields late is released.
 */
export async function* batchesWithinTimeout<T extends { release(): void }>(
  iterator: AsyncGenerator<T, void, undefined>,
  ms: number | undefined,
  waitingFor: (index: number) => string,
): AsyncGenerator<T, void, undefined> {
  let index = 0;
  let stalled = false;
  try {
    for (;;) {
      let next: IteratorResult<T, void>;
      try {
        next = await withinDataTimeout(
          iterator.next(),
          ms,
          () => waitingFor(index),
          (r) => {
            if (!r.done) r.value.release();
          },
        );
      } catch (error) {
        stalled = isTensorloopError(error, 'TL_DATA_TIMEOUT');
        throw sourceError(error, waitingFor(index));
      }
      if (next.done) return;
      index += 1;
      yield next.value;
    }
  } finally {
    // A generator stopped between batches finishes now (its tensors are released before we go on).
    if (stalled) void iterator.return(undefined).catch(() => undefined);
    else await iterator.return(undefined);
  }
}
