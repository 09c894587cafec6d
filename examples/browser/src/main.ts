// The page: trains on the main thread (yielding so it stays responsive) or in a worker, draws live
// curves, and saves to / resumes from IndexedDB. `window.tl` exposes its state to the Chromium test.
import * as tf from '@tensorflow/tfjs';
import {
  definePlugin,
  type FitResult,
  type LogEntry,
  type Logs,
  listCheckpoints,
  removeCheckpoint,
  stop,
  type Trainer,
} from '@tensorloop/core';
import { connectTrainer, type RemoteFitResult } from '@tensorloop/core/worker';
import { chooseBackend } from './backend.js';
import { type CurvePoints, drawCurves } from './curves.js';
import { probes } from './probes.js';
import { DEFAULT_RUN, digitData, digitTrainer, flatWeights, type RunConfig } from './training.js';

export const CHECKPOINT = 'indexeddb://mnist-run';

const params = new URL(location.href).searchParams;
const config: RunConfig = { ...DEFAULT_RUN, epochs: Number(params.get('epochs') ?? DEFAULT_RUN.epochs) };
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const buttons = {
  train: $<HTMLButtonElement>('train'),
  worker: $<HTMLButtonElement>('train-worker'),
  stop: $<HTMLButtonElement>('stop'),
  save: $<HTMLButtonElement>('save'),
  resume: $<HTMLButtonElement>('resume'),
  ping: $<HTMLButtonElement>('ping'),
};
const status = $<HTMLDivElement>('status');
const canvas = $<HTMLCanvasElement>('curves');

/** What the test reads: plain data only. */
const state = {
  backend: '',
  running: false,
  mode: '' as '' | 'page' | 'worker',
  step: 0,
  epoch: 0,
  saved: [] as string[],
  clickLatencies: [] as number[],
  tfjsBatches: 0,
  errors: [] as string[],
  result: undefined as
    | undefined
    | {
        weights: number[];
        valAccuracy: number;
        epochs: number;
        stopReason: string | undefined;
        step: number;
      },
};

let points: CurvePoints = { batchLoss: [], valAccuracy: [] };
let stopRequested = false;
let saveRequested: string | undefined;

function show(text: string): void {
  status.textContent = text;
}

function setRunning(running: boolean, mode: 'page' | 'worker'): void {
  state.running = running;
  state.mode = mode;
  buttons.train.disabled = running;
  buttons.worker.disabled = running;
  buttons.resume.disabled = running;
  buttons.stop.disabled = !running;
  buttons.save.disabled = !running;
}

function progress(time: { step: number; epoch: number; fraction: number }, loss?: number): void {
  state.step = time.step;
  state.epoch = time.epoch;
  if (loss !== undefined) points.batchLoss.push([time.fraction * config.epochs, loss]);
}

function epochDone(epoch: number, logs: Logs): void {
  points.valAccuracy.push([epoch + 1, logs.val_accuracy ?? 0]);
  drawCurves(canvas, points, config.epochs);
  show(
    `epoch ${epoch + 1}: loss ${logs.loss?.toFixed(4)} · val_loss ${logs.val_loss?.toFixed(4)} · ` +
      `val_accuracy ${logs.val_accuracy?.toFixed(4)} · lr ${logs.lr?.toExponential(2)}`,
  );
}

/** The page's own plugin: progress for the curves, and the Stop / Save buttons at batch ends. */
const pageControls = definePlugin({
  name: 'example:page-controls',
  enforce: 'post',
  needsBatchLogs: true,
  async onBatchEnd(ctx, event) {
    progress(ctx.time, event.logs?.loss);
    if (saveRequested) {
      const to = saveRequested;
      saveRequested = undefined;
      await ctx.save(to);
      state.saved.push(to);
      show(`saved to ${to} at step ${ctx.time.step}`);
    }
    return stopRequested ? stop('stopped from the page') : undefined;
  },
  onEpochEnd(ctx, event) {
    progress(ctx.time);
    epochDone(event.epoch, event.logs);
  },
});

function finish(result: FitResult | RemoteFitResult, weights: number[]): void {
  const last = result.history.at(-1)?.logs ?? {};
  state.result = {
    weights,
    valAccuracy: last.val_accuracy ?? Number.NaN,
    epochs: result.history.length,
    stopReason: result.stopReason?.message,
    step: result.time.step,
  };
  show(
    `done at step ${result.time.step}: val_accuracy ${last.val_accuracy?.toFixed(4)}` +
      (result.stopReason ? ` (${result.stopReason.message})` : ''),
  );
}

const log = (entry: LogEntry) => {
  if (entry.level === 'warn') console.warn(entry.message);
};

async function trainOnPage(resumeFrom?: string): Promise<void> {
  setRunning(true, 'page');
  stopRequested = false;
  points = { batchLoss: [], valAccuracy: [] };
  let trainer: Trainer | undefined;
  try {
    trainer = digitTrainer(config, [pageControls], log);
    const { data, validationData } = digitData();
    const result = await trainer.fit(data, {
      epochs: config.epochs,
      batchSize: config.batchSize,
      validationData,
      ...(resumeFrom ? { resumeFrom } : {}),
    });
    finish(result, flatWeights(trainer.model));
  } catch (error) {
    state.errors.push(String(error));
    show(String(error));
    console.error(error);
  } finally {
    trainer?.model.dispose();
    setRunning(false, 'page');
  }
}

let worker: ReturnType<typeof connectTrainer<RunConfig>> | undefined;

async function trainInWorker(): Promise<void> {
  setRunning(true, 'worker');
  points = { batchLoss: [], valAccuracy: [] };
  if (!worker) {
    const w = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    worker = connectTrainer<RunConfig>(w);
    worker.onProgress((p) => {
      progress(p.time, p.logs?.loss);
      if (p.event === 'epoch' && p.logs) epochDone(p.time.epoch, p.logs);
    });
    worker.onLog(log);
  }
  try {
    await worker.ready;
    const result = await worker.fit({ config, epochs: config.epochs, batchSize: config.batchSize });
    finish(
      result,
      Object.values(result.weights ?? {}).flatMap((w) => w.values),
    );
  } catch (error) {
    state.errors.push(String(error));
    show(String(error));
    console.error(error);
  } finally {
    setRunning(false, 'worker');
  }
}

buttons.train.onclick = () => void trainOnPage();
buttons.worker.onclick = () => void trainInWorker();
buttons.resume.onclick = () => void trainOnPage(CHECKPOINT);
buttons.stop.onclick = () => {
  stopRequested = true;
  void worker?.stop('stopped from the page');
};
buttons.save.onclick = () => {
  if (state.mode === 'worker') void worker?.save(CHECKPOINT).then((to) => state.saved.push(to));
  else saveRequested = CHECKPOINT;
};
buttons.ping.onclick = (event) => {
  // event.timeStamp is when the input event was created: the wait is how long training held the thread.
  state.clickLatencies.push(performance.now() - event.timeStamp);
  buttons.ping.textContent = `Clicked ${state.clickLatencies.length}×`;
};

// ?f16=1: WebGL stores every tensor as a half float (see f16-probe.ts); set before the first tensor.
if (params.get('f16') === '1') tf.env().set('WEBGL_FORCE_F16_TEXTURES', true);
chooseBackend(params.get('backend')).then((backend) => {
  state.backend = backend;
  $('backend').textContent = backend;
});

Object.assign(window, { tl: { state, probes, listCheckpoints, removeCheckpoint, tf } });
