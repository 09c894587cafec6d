import * as tf from '@tensorflow/tfjs';
import type {
  Batch,
  GradientMap,
  GradientRequest,
  GradientResult,
  GradientSource,
  Logger,
} from '@tensorloop/core';
import { copyInto, tensorFrom } from './heap-io.js';
import type { CheckedOptions } from './options.js';
import { layOut, rowSize, type WeightSpec, type WorkerConfig } from './protocol.js';
import { shardSizes } from './shards.js';
import { type WorkerBuffers, WorkerHandle } from './worker-pool.js';

interface LayerVariableLike {
  readonly originalName: string;
  read(): tf.Variable;
}

/** Why a step runs on the main thread alone although workers are up (told once per fit). */
function localReason(request: GradientRequest): string | undefined {
  if (Array.isArray(request.batch.x)) return 'the model has several inputs (x is an array)';
  if (request.lossName === undefined)
    return 'the loss is a function (workers rebuild built-in losses by name)';
  if (request.metricNames.some((m) => m === undefined))
    return 'a metric is a function (workers rebuild built-in metrics by name)';
  if (request.transformsLoss)
    return 'a plugin transforms the loss (transformLoss runs on the main thread only)';
  return undefined;
}

/**
 * The gradient source: splits each batch into shards, the first computed on the main thread (by the
 * trainer's own `computeLocal`) while the workers compute theirs, and averages the results weighted by
 * shard size, so the gradient is the one of the whole batch's mean loss. Workers get every weight
 * (BatchNorm statistics too) through shared memory before every step.
 */
export class WorkerGroup implements GradientSource {
  private handles: WorkerHandle[] = [];
  private variables: LayerVariableLike[] = [];
  private params: Float32Array = new Float32Array(0);
  private paramSpecs: WeightSpec[] = [];
  private configKey = '';
  private capacity = 0;
  private gradSpecs = new Map<string, WeightSpec>();
  private gradList: WeightSpec[] = [];
  private mask: Int32Array = new Int32Array(0);
  private told = false;
  private logger: Logger | undefined;

  constructor(private readonly options: CheckedOptions) {}

  /** Threads computing each batch now (1: the main thread alone). */
  get threads(): number {
    return this.handles.length + 1;
  }

  /** Start the worker threads for a fit; on any failure train on the main thread and say why. */
  async start(model: tf.LayersModel, logger: Logger): Promise<void> {
    await this.stop();
    this.logger = logger;
    this.told = false;
    this.configKey = '';
    if (this.options.workers <= 1) return;
    const unavailable = await this.unavailable();
    if (typeof unavailable === 'string') {
      logger.warn(`${unavailable}; training on the main thread only (1 worker).`);
      return;
    }
    this.variables = model.weights as unknown as LayerVariableLike[];
    const { specs, total } = layOut(
      this.variables.map((v) => ({ name: v.originalName, shape: v.read().shape })),
    );
    this.paramSpecs = specs;
    const paramsBuffer = new SharedArrayBuffer(total * 4);
    this.params = new Float32Array(paramsBuffer);
    const init = {
      modelTopology: model.toJSON(null, false),
      params: specs,
      paramsBuffer,
      wasmPaths: this.options.wasmPaths,
      prod: tf.env().getBool('PROD'),
    };
    const started = await Promise.allSettled(
      Array.from({ length: this.options.workers - 1 }, () =>
        WorkerHandle.start(unavailable.Worker, init, this.options.timeoutMs),
      ),
    );
    this.handles = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) {
      const reason = failure.reason instanceof Error ? failure.reason.message : String(failure.reason);
      logger.warn(
        `a worker thread could not start (${reason}); training with ${this.threads} thread${this.threads === 1 ? '' : 's'} instead of ${this.options.workers}.`,
      );
    }
  }

  /** End every worker thread (fit end, an error); safe to call twice. */
  async stop(): Promise<void> {
    const handles = this.handles;
    this.handles = [];
    await Promise.all(handles.map((h) => h.stop()));
  }

  computeGradients(request: GradientRequest): GradientResult {
    if (this.handles.length === 0) return request.computeLocal(request.batch);
    const reason = localReason(request);
    if (reason !== undefined) {
      if (!this.told) this.logger?.warn(`${reason}: this fit trains on the main thread only.`);
      this.told = true;
      return request.computeLocal(request.batch);
    }
    const x = request.batch.x as tf.Tensor;
    const { y } = request.batch;
    const sizes = shardSizes(x.shape[0]!, this.threads);
    if (sizes.length === 1) return request.computeLocal(request.batch);
    const remote = this.handles.slice(0, sizes.length - 1);
    this.ensureConfigured(request, x, y, Math.max(...sizes.slice(1)));
    this.writeParams();
    this.writeInputs(request, x, y, sizes, remote);
    const seeds = remote.map(() => Math.floor(Math.random() * 4294967296));
    remote.forEach((h, j) => {
      h.startStep(sizes[j + 1]!, seeds[j]!);
    });
    let local: GradientResult;
    try {
      // Divided by its share of the rows, the local shard's gradients arrive weighted (as the workers').
      const share = sizes[0]! / x.shape[0]!;
      local = request.computeLocal(
        { x: tf.slice(x, 0, sizes[0]), y: tf.slice(y, 0, sizes[0]) },
        request.lossDivisor / share,
      );
    } finally {
      // Always collect the answers, so no worker is left mid-step with a request outstanding.
      for (const h of remote) h.wait();
    }
    return this.combine(request, local, sizes, remote);
  }

  private async unavailable(): Promise<string | typeof import('node:worker_threads')> {
    if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') {
      return 'SharedArrayBuffer is not available here';
    }
    try {
      return await import('node:worker_threads');
    } catch {
      return 'worker_threads is not available here (not Node?)';
    }
  }

  private ensureConfigured(request: GradientRequest, x: tf.Tensor, y: tf.Tensor, rows: number): void {
    const names = request.weights.map((w) => w.name);
    const key = JSON.stringify([
      request.lossName,
      request.metricNames,
      x.shape.slice(1),
      y.shape.slice(1),
      x.dtype,
      y.dtype,
      names,
    ]);
    if (key === this.configKey && rows <= this.capacity) return;
    const { specs, total } = layOut(request.weights.map((w) => ({ name: w.name, shape: w.variable.shape })));
    this.gradList = specs;
    this.gradSpecs = new Map(specs.map((s) => [s.name, s]));
    this.capacity = Math.max(rows, this.capacity);
    const maskBuffer = new SharedArrayBuffer(Math.max(1, specs.length) * 4);
    this.mask = new Int32Array(maskBuffer);
    const xRow = x.shape.slice(1);
    const yRow = y.shape.slice(1);
    const batchFloats = this.capacity * (rowSize(xRow) + rowSize(yRow));
    for (const h of this.handles) {
      const batchBuffer = new SharedArrayBuffer(batchFloats * 4);
      const outputBuffer = new SharedArrayBuffer((total + request.metricNames.length + 2) * 4);
      const scalarsBuffer = new SharedArrayBuffer(8);
      const config: WorkerConfig = {
        type: 'configure',
        lossName: request.lossName!,
        metricNames: request.metricNames as string[],
        grads: specs,
        xRow,
        yRow,
        xDtype: x.dtype,
        yDtype: y.dtype,
        capacity: this.capacity,
        batchBuffer,
        outputBuffer,
        maskBuffer,
        scalarsBuffer,
      };
      const buffers: WorkerBuffers = {
        config,
        batch: new Float32Array(batchBuffer),
        output: new Float32Array(outputBuffer),
        mask: this.mask,
        scalars: new Float64Array(scalarsBuffer),
      };
      h.configure(buffers);
    }
    this.configKey = key;
  }

  /** Every weight of the model (after the last optimizer step) into shared memory. */
  private writeParams(): void {
    this.variables.forEach((v, i) => {
      copyInto(v.read(), this.params, this.paramSpecs[i]!.offset);
    });
  }

  private writeInputs(
    request: GradientRequest,
    x: tf.Tensor,
    y: tf.Tensor,
    sizes: readonly number[],
    remote: readonly WorkerHandle[],
  ): void {
    const xr = rowSize(x.shape.slice(1));
    const yr = rowSize(y.shape.slice(1));
    const total = x.shape[0]!;
    let start = sizes[0]!;
    remote.forEach((h, j) => {
      const rows = sizes[j + 1]!;
      const { batch, scalars } = h.buffers!;
      copyInto(x, batch, 0, start * xr, (start + rows) * xr);
      copyInto(y, batch, this.capacity * xr, start * yr, (start + rows) * yr);
      // Its loss divided by its share too: the worker's gradients come back weighted.
      scalars[0] = request.lossDivisor / (rows / total);
      start += rows;
    });
    request.weights.forEach((w, i) => {
      this.mask[i] = w.variable.trainable ? 1 : 0;
    });
  }

  /**
   * Σ (rows_i / rows) · result_i over the shards. Gradients and the differentiated loss come weighted
   * already (every shard divided its loss by its share), so they are added; the logged values are mixed.
   */
  private combine(
    request: GradientRequest,
    local: GradientResult,
    sizes: readonly number[],
    remote: readonly WorkerHandle[],
  ): GradientResult {
    const rows = sizes.reduce((a, b) => a + b, 0);
    const w0 = sizes[0]! / rows;
    const weights = remote.map((_, j) => sizes[j + 1]! / rows);
    const last = this.gradList.at(-1);
    const valuesAt = last ? last.offset + last.size : 0;
    const grads: GradientMap = new Map();
    for (const [name, g0] of local.grads) {
      const spec = this.gradSpecs.get(name)!;
      // On the device: one upload per weight and shard, then an add in the wasm heap (a host loop
      // over the main thread's gradients read back cost more than the whole worker round trip).
      let sum = g0;
      for (const h of remote) {
        const part = h.buffers!.output.subarray(spec.offset, spec.offset + spec.size);
        sum = tf.add(sum, tensorFrom(part, spec.shape));
      }
      grads.set(name, sum);
    }
    const mix = (t: tf.Scalar, index: number, weighted: boolean): tf.Scalar => {
      let total = weighted ? t : tf.mul(t, w0);
      remote.forEach((h, j) => {
        const value = h.buffers!.output[valuesAt + index]!;
        total = tf.add(total, weighted ? value : value * weights[j]!);
      });
      return total as tf.Scalar;
    };
    const values = local.values.map((v, i) => mix(v, i, false));
    const loss = mix(local.loss, request.metricNames.length + 1, true);
    // Kept by computeLocal (they outlive its gradient tape; the loss may be one of them): the mix replaces them.
    tf.dispose(local.values);
    return { values, loss, grads };
  }
}

export type { Batch };
