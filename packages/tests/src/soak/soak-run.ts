// The soak run's child process (`soak.test.ts` starts it as `node --expose-gc dist/soak/soak-run.js
// <dir> <steps>`): a tiny model trained for `steps` optimizer steps with every first-party plugin
// active, sampling tf.memory() at every epoch end and the process RSS (after a full gc) every few
// epochs. Prints one JSON line with the samples, then exits.
import * as tf from '@tensorflow/tfjs';
import { amp } from '@tensorloop/amp';
import { adam, checkpoint, definePlugin, Trainer } from '@tensorloop/core';
import { earlyStopping } from '@tensorloop/early-stopping';
import { finetuneScheduler } from '@tensorloop/finetune-scheduler';
import { csvLogger, jsonLines, tensorBoard } from '@tensorloop/loggers';
import { reduceOnPlateau } from '@tensorloop/lr-schedules';
import { MetaTrainer } from '@tensorloop/meta-trainer';
import { progress } from '@tensorloop/progress';
import { report } from '@tensorloop/report';
import { classificationData } from '@tensorloop/test-fixtures';

export interface SoakSample {
  readonly epoch: number;
  readonly step: number;
  readonly numTensors: number;
  readonly numBytes: number;
  /** Resident set size after a full gc (every `RSS_EVERY` epochs), in bytes. */
  readonly rss?: number;
  readonly heapUsed?: number;
}

export interface SoakResult {
  readonly samples: SoakSample[];
  readonly steps: number;
  readonly epochs: number;
  readonly seconds: number;
  readonly plugins: string[];
}

const STEPS_PER_EPOCH = 100;
const RSS_EVERY = 5;

const gc = (globalThis as { gc?: () => void }).gc;

function model(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'a',
        units: 8,
        inputShape: [4],
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({
        name: 'out',
        units: 3,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
}

async function main(dir: string, steps: number): Promise<SoakResult> {
  await tf.setBackend('cpu');
  const data = classificationData(STEPS_PER_EPOCH * 8, 4, 3, 3);
  const validation = classificationData(64, 4, 3, 4);
  const samples: SoakSample[] = [];
  const probe = definePlugin({
    name: 'soak:probe',
    onEpochEnd: {
      order: 'post',
      handler(ctx) {
        const { numTensors, numBytes } = tf.memory();
        const epoch = ctx.time.epoch;
        if (epoch % RSS_EVERY === 0 && gc) {
          gc();
          gc();
          const { rss, heapUsed } = process.memoryUsage();
          samples.push({ epoch, step: ctx.time.step, numTensors, numBytes, rss, heapUsed });
        } else {
          samples.push({ epoch, step: ctx.time.step, numTensors, numBytes });
        }
      },
    },
  });
  const sink = { write: (_text: string) => true, isTTY: false };
  const plugins = [
    amp(),
    finetuneScheduler({
      schedule: {
        0: { params: ['out/.*'], maxTransitionEpoch: 2 },
        1: { params: ['a/.*'], lr: 0.002 },
      },
      epochTransitionsOnly: true,
      logDir: false,
    }),
    reduceOnPlateau({ monitor: 'val_loss', patience: 3, factor: 0.9, minLr: 1e-4 }),
    earlyStopping({ monitor: 'val_loss', patience: 1_000_000, verbose: false }),
    checkpoint({ dir: `${dir}/ckpt`, everyEpochs: 10, monitor: 'val_loss' }),
    tensorBoard({ logDir: `${dir}/tb`, updateFreq: 50, histograms: { every: 20 } }),
    csvLogger({ path: `${dir}/training.csv` }),
    jsonLines({ path: `${dir}/training.jsonl` }),
    progress({ stream: sink, tty: false }),
    report({ dir: `${dir}/report`, hparams: ['lr'] }),
    probe,
  ];
  // TL_SOAK_WITHOUT=name,name: leave plugins out (to find which one grows memory).
  const without = (process.env.TL_SOAK_WITHOUT ?? '').split(',').filter(Boolean);
  const active = plugins.filter((p) => !without.some((w) => p.name.includes(w)));
  const trainer = new Trainer({
    model: model(),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    optimizer: adam({ lr: 0.005 }),
    plugins: active,
    seed: 3,
    log: 'silent',
  });
  // Two stages through the meta-trainer: a short one (a tenth of the steps), so that the warm-up
  // the parent allows (a fifth) has seen every path once, a whole fit's end included (the report's
  // first write, the stage change), then the rest.
  const meta = new MetaTrainer(trainer);
  const epochs = Math.ceil(steps / STEPS_PER_EPOCH);
  const first = Math.max(1, Math.floor(epochs / 10));
  const started = performance.now();
  await meta.fit(data, { epochs: first, batchSize: 8, validationData: validation });
  await meta.tick();
  await meta.fit(data, { epochs: epochs - first, batchSize: 8, validationData: validation });
  const seconds = (performance.now() - started) / 1000;
  tf.dispose([data.x, data.y, validation.x, validation.y]);
  return {
    samples,
    steps: trainer.time.step,
    epochs: trainer.time.epoch,
    seconds,
    plugins: trainer.plugins.map((p) => p.name),
  };
}

const [dir, steps] = process.argv.slice(2);
if (dir !== undefined) {
  main(dir, Number(steps ?? 20_000)).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
