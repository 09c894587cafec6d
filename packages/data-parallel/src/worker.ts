// The entry each worker thread runs: one tfjs wasm instance, a copy of the model built from its
// topology, and a blocking loop that computes the loss, metric values and gradients of one shard
// per request (protocol.ts). Weights arrive through shared memory before every step.
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '@tensorloop/backend-wasm';
import { resolveBuiltinLoss, resolveBuiltinMetric, withSeededMathRandom } from '@tensorloop/core';
import { copyInto, overwrite } from './heap-io.js';
import { COMMAND, CONTROL, ERROR_TEXT_BYTES, type WorkerConfig, type WorkerInit } from './protocol.js';

interface LayerVariableLike {
  readonly originalName: string;
  trainable: boolean;
  read(): tf.Variable;
}

interface BatchNormLike {
  readonly name: string;
  trainable: boolean;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
  getClassName(): string;
  readonly layers?: BatchNormLike[];
}

type Fn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;

interface Configured {
  readonly config: WorkerConfig;
  readonly loss: Fn;
  readonly metrics: readonly Fn[];
  readonly gradVars: readonly LayerVariableLike[];
  readonly batch: Float32Array;
  readonly output: Float32Array;
  readonly mask: Int32Array;
  readonly scalars: Float64Array;
}

const init = workerData as WorkerInit;
const control = new Int32Array(init.controlBuffer);
const params = new Float32Array(init.paramsBuffer);
const errorBytes = new Uint8Array(init.errorBuffer);
let model: tf.LayersModel;
let byName: Map<string, LayerVariableLike>;
let configured: Configured | undefined;
let seen = 0;

function fail(error: unknown): void {
  const text = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  const bytes = new TextEncoder().encode(text).subarray(0, ERROR_TEXT_BYTES);
  errorBytes.set(bytes);
  Atomics.store(control, CONTROL.ERROR_LENGTH, bytes.length);
  Atomics.store(control, CONTROL.FAILED, 1);
}

function answer(request: number): void {
  Atomics.store(control, CONTROL.DONE, request);
  Atomics.notify(control, CONTROL.DONE);
}

/** Keras semantics for a frozen BatchNormalization, as core patches the main model (`freezing.ts`). */
function patchFrozenBatchNorm(layers: readonly BatchNormLike[]): void {
  for (const layer of layers) {
    if (Array.isArray(layer.layers)) {
      patchFrozenBatchNorm(layer.layers);
      continue;
    }
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const own = [...byName.values()].filter((v) => v.originalName.startsWith(`${layer.name}/`));
    const trainableOwn = () => own.filter((v) => configured?.gradVars.includes(v));
    const original = layer.call.bind(layer);
    layer.call = (inputs, kwargs) => {
      const mine = trainableOwn();
      const frozen = !layer.trainable || (mine.length > 0 && mine.every((v) => !v.trainable));
      return original(inputs, frozen ? { ...kwargs, training: false } : kwargs);
    };
  }
}

async function start(): Promise<void> {
  await initWasmBackend(init.wasmPaths === undefined ? {} : { wasmPaths: init.wasmPaths });
  if (init.prod) tf.enableProdMode();
  model = await tf.models.modelFromJSON({ modelTopology: init.modelTopology } as tf.io.ModelJSON);
  byName = new Map(
    (model.weights as unknown as LayerVariableLike[]).map((v) => [v.originalName, v] as const),
  );
  const missing = init.params.filter((p) => !byName.has(p.name)).map((p) => p.name);
  if (missing.length > 0) throw new Error(`the rebuilt model has no weights named ${missing.join(', ')}`);
  patchFrozenBatchNorm(model.layers as unknown as BatchNormLike[]);
}

function configure(config: WorkerConfig): void {
  const gradVars = config.grads.map((g) => {
    const v = byName.get(g.name);
    if (!v) throw new Error(`the rebuilt model has no weight named ${g.name}`);
    return v;
  });
  configured = {
    config,
    loss: resolveBuiltinLoss(config.lossName),
    metrics: config.metricNames.map((m) => resolveBuiltinMetric(m, config.lossName)),
    gradVars,
    batch: new Float32Array(config.batchBuffer),
    output: new Float32Array(config.outputBuffer),
    mask: new Int32Array(config.maskBuffer),
    scalars: new Float64Array(config.scalarsBuffer),
  };
}

/** Every weight from shared memory into this copy of the model, as new tensors (heap-io.ts: never in place). */
function loadParams(): void {
  for (const p of init.params) {
    overwrite(byName.get(p.name)!.read(), params.subarray(p.offset, p.offset + p.size));
  }
}

function step(c: Configured): void {
  const rows = Atomics.load(control, CONTROL.ROWS);
  const seed = Atomics.load(control, CONTROL.SEED);
  const { config } = c;
  loadParams();
  tf.tidy(() => {
    const xSize = rows * config.xRow.reduce((a, b) => a * b, 1);
    const ySize = rows * config.yRow.reduce((a, b) => a * b, 1);
    const xOffset = 0;
    const yOffset = config.capacity * config.xRow.reduce((a, b) => a * b, 1);
    const x = tf.tensor(
      c.batch.subarray(xOffset, xOffset + xSize),
      [rows, ...config.xRow],
      config.xDtype as tf.DataType,
    );
    const y = tf.tensor(
      c.batch.subarray(yOffset, yOffset + ySize),
      [rows, ...config.yRow],
      config.yDtype as tf.DataType,
    );
    c.gradVars.forEach((v, i) => {
      v.trainable = c.mask[i] === 1;
    });
    const trainable = c.gradVars.filter((v) => v.trainable).map((v) => v.read());
    const divisor = c.scalars[0]!;
    let kept: tf.Scalar[] = [];
    const { value, grads } = withSeededMathRandom(seed, () =>
      tf.variableGrads(() => {
        const yPred = model.apply(x, { training: true }) as tf.Tensor;
        let loss = c.loss(y, yPred);
        const regularizers = model.calculateLosses();
        if (regularizers.length > 0) loss = tf.addN([loss, ...regularizers]) as tf.Scalar;
        kept = [loss, ...c.metrics.map((m) => m(y, yPred))].map((v) => tf.keep(v));
        return divisor === 1 ? loss : (tf.div(loss, divisor) as tf.Scalar);
      }, trainable),
    );
    config.grads.forEach((g, i) => {
      if (c.mask[i] !== 1) return;
      const grad = grads[c.gradVars[i]!.read().name];
      if (grad) copyInto(grad, c.output, g.offset);
      else c.output.fill(0, g.offset, g.offset + g.size);
    });
    const last = config.grads.at(-1);
    const valuesAt = last ? last.offset + last.size : 0;
    [...kept, value].forEach((t, i) => {
      c.output[valuesAt + i] = t.dataSync()[0]!;
    });
    tf.dispose(kept);
  });
}

/** Blocks until the next request; returns on CONFIGURE (a message follows) and on STOP. */
function serve(): 'configure' | 'stop' {
  for (;;) {
    Atomics.wait(control, CONTROL.REQUEST, seen);
    const request = Atomics.load(control, CONTROL.REQUEST);
    if (request === seen) continue;
    seen = request;
    const command = Atomics.load(control, CONTROL.COMMAND);
    if (command === COMMAND.STOP) {
      answer(request);
      return 'stop';
    }
    if (command === COMMAND.CONFIGURE) return 'configure';
    try {
      if (!configured) throw new Error('a step arrived before the worker was configured');
      step(configured);
    } catch (error) {
      fail(error);
    }
    answer(request);
  }
}

function run(): void {
  if (serve() === 'stop') parentPort?.close();
}

parentPort?.on('message', (message: WorkerConfig) => {
  try {
    configure(message);
  } catch (error) {
    fail(error);
  }
  answer(seen);
  run();
});

start().then(
  () => {
    parentPort?.postMessage({ type: 'ready', backend: tf.getBackend() });
    run();
  },
  (error: unknown) => {
    parentPort?.postMessage({
      type: 'failed',
      message: error instanceof Error ? error.message : String(error),
    });
  },
);
