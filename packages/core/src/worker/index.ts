// @tensorloop/core/worker: a Trainer in a Web Worker, driven from the page with plain-data messages.
export { connectTrainer, type RemoteTrainer } from './connect.js';
export type {
  FromWorker,
  MessageEndpoint,
  RemoteError,
  RemoteFitRequest,
  RemoteFitResult,
  RemoteProgress,
  ToWorker,
} from './protocol.js';
export { type ServeTrainerOptions, serveTrainer, type WorkerBridge } from './serve.js';
