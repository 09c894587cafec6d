/**
 * The hand-off between the main thread and one worker, in an `Int32Array` over a SharedArrayBuffer
 * (`control`). The main thread writes the inputs, sets `COMMAND`, bumps `REQUEST` and notifies; the
 * worker answers by setting `DONE` to the request's number (and `FAILED` with a message on error).
 * Both sides block with `Atomics.wait`, so a step is one synchronous round trip, no event loop.
 */
export const CONTROL = {
  REQUEST: 0,
  DONE: 1,
  COMMAND: 2,
  FAILED: 3,
  /** Rows of this worker's shard. */
  ROWS: 4,
  /** A 32-bit seed for the random ops of the worker's forward pass (dropout). */
  SEED: 5,
  /** Bytes of the error message in `errorText`. */
  ERROR_LENGTH: 6,
} as const;
export const CONTROL_INTS = 8;

export const COMMAND = {
  STEP: 1,
  /** Leave the blocking loop to read a `configure` message (new loss, metrics or batch capacity). */
  CONFIGURE: 2,
  STOP: 3,
} as const;

/** Bytes for a worker's error message (UTF-8, cut to fit). */
export const ERROR_TEXT_BYTES = 4096;

export interface WeightSpec {
  /** The weight's `originalName`: the same in every thread's copy of the model. */
  readonly name: string;
  readonly shape: readonly number[];
  /** Offset in float32 elements inside its region. */
  readonly offset: number;
  readonly size: number;
}

/** Sent once per worker at start (`workerData`). */
export interface WorkerInit {
  /** `model.toJSON(null, false)`: the architecture; weights follow through `params`. */
  readonly modelTopology: unknown;
  /** Every weight of the model (trainable and not: BatchNorm statistics too), as laid out in `params`. */
  readonly params: readonly WeightSpec[];
  readonly paramsBuffer: SharedArrayBuffer;
  readonly controlBuffer: SharedArrayBuffer;
  readonly errorBuffer: SharedArrayBuffer;
  /** `initWasmBackend({ wasmPaths })` in the worker. */
  readonly wasmPaths: string | undefined;
  /** The main thread's tfjs `PROD` flag (`tf.enableProdMode()` skips per-op checks), mirrored in the worker. */
  readonly prod: boolean;
}

/** Sent when what a step needs changes (first step, a larger batch, other metrics). */
export interface WorkerConfig {
  readonly type: 'configure';
  readonly lossName: string;
  readonly metricNames: readonly string[];
  /** The trainable-capable weights, as laid out in the gradient region (the trainer's fixed order). */
  readonly grads: readonly WeightSpec[];
  /** Per-sample shapes and dtypes of x and y. */
  readonly xRow: readonly number[];
  readonly yRow: readonly number[];
  readonly xDtype: string;
  readonly yDtype: string;
  /** Rows the batch region holds. */
  readonly capacity: number;
  /** x rows, then y rows, as float32. */
  readonly batchBuffer: SharedArrayBuffer;
  /** Gradients (float32, `grads` layout), then `[loss, ...metrics, differentiated loss]`. */
  readonly outputBuffer: SharedArrayBuffer;
  /** Int32 per `grads` entry: 1 when the weight is trainable for this step. */
  readonly maskBuffer: SharedArrayBuffer;
  /** Float64, this worker's own: the step's loss divisor (k under accumulation) ÷ its share of the rows. */
  readonly scalarsBuffer: SharedArrayBuffer;
}

/** Lay out weights one after the other, in float32 elements. */
export function layOut(weights: readonly { name: string; shape: readonly number[] }[]): {
  specs: WeightSpec[];
  total: number;
} {
  let offset = 0;
  const specs = weights.map((w) => {
    const size = w.shape.reduce((a, b) => a * b, 1);
    const spec = { name: w.name, shape: [...w.shape], offset, size };
    offset += size;
    return spec;
  });
  return { specs, total: offset };
}

export function rowSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
