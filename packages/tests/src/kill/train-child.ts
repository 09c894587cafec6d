// Child of `kill-training.test.ts`: trains until it is killed, checkpointing `<dir>/last` every
// `EVERY` optimizer steps. `node dist/kill/train-child.js <dir>`: resumes from `<dir>/last` when it
// exists. Prints `ready <step>` when training starts and `saved <step> <checksum>` after each save
// (the checksum of every weight, to compare with what the parent loads).
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { adam, checkpoint, definePlugin, Trainer } from '@tensorloop/core';
import { classificationData } from '@tensorloop/test-fixtures';

export const EVERY = 4;
export const LAYERS = { hidden: 'hidden', out: 'out' } as const;

export function killModel(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: LAYERS.hidden,
        units: 64,
        inputShape: [16],
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({
        name: LAYERS.out,
        units: 4,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
}

export const killData = () => classificationData(256, 16, 4, 9);

/** Sum of |w|·(index+1) over every weight, as float64 on the host: equal weights, equal checksums. */
export function checksum(model: tf.LayersModel): number {
  let sum = 0;
  for (const w of model.getWeights()) {
    const values = w.dataSync();
    for (let i = 0; i < values.length; i++) sum += Math.abs(values[i]!) * ((i % 97) + 1);
  }
  return sum;
}

async function main(dir: string): Promise<void> {
  await tf.setBackend('cpu');
  const data = killData();
  const last = `${dir}/last`;
  const report = definePlugin({
    name: 'kill:report',
    onBatchEnd: {
      order: 'post', // after checkpoint() wrote
      handler(ctx, e) {
        if (e.stepped && ctx.time.step % EVERY === 0)
          process.stdout.write(`saved ${ctx.time.step} ${checksum(ctx.model)}\n`);
      },
    },
  });
  const plugins = [checkpoint({ dir, everySteps: EVERY }), report];
  const trainer = existsSync(last)
    ? await Trainer.load(last, { loss: 'categoricalCrossentropy', plugins, log: 'silent' })
    : new Trainer({
        model: killModel(),
        loss: 'categoricalCrossentropy',
        optimizer: adam({ lr: 0.01 }),
        plugins,
        log: 'silent',
        seed: 4,
      });
  process.stdout.write(`ready ${trainer.time.step}\n`);
  // Never outlive a parent that died without killing us.
  setTimeout(() => process.exit(3), 120_000).unref();
  for (;;) await trainer.fit(data, { epochs: 1_000, batchSize: 16 });
}

const [dir] = process.argv.slice(2);
if (dir !== undefined) {
  main(dir).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
