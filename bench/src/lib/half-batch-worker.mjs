// The other half of data-parallel.mjs's "ceiling" variant: a worker thread with its own wasm
// instance that trains its own copy of the model on half batches, with no communication, while the
// main thread does the same. What two threads of this machine can do at most for data parallelism.
import { parentPort, workerData } from 'node:worker_threads';
import { Trainer } from '@tensorloop/core';
import { initBackend } from './backends.mjs';
import { optimizerFor } from './optimizers.mjs';
import { buildModel, mnistTensors } from './workloads.mjs';

const { kind, batch, steps, optimizer } = workerData;
await initBackend('wasm+tl');
const data = mnistTensors(batch * steps, kind);
const trainer = new Trainer({
  model: buildModel(kind),
  loss: 'categoricalCrossentropy',
  optimizer: optimizerFor(optimizer),
  log: 'silent',
});
const fit = { epochs: 1, batchSize: batch, shuffle: false, checkData: false };
parentPort.on('message', async () => {
  const start = performance.now();
  await trainer.fit(data, fit);
  parentPort.postMessage(performance.now() - start);
});
parentPort.postMessage('ready');
