// Issue 19, point 7: on WebGL with WEBGL_FORCE_F16_TEXTURES (every tensor stored as a half float),
// does amp's dynamic loss scaling keep training alive where it stalls without? Open the page with
// `?f16=1` (the flag must be set before the backend makes its first tensor), then run
// `tl.probes.ampF16()`. Each variant trains the same model from the same weights with plain SGD.
import * as tf from '@tensorflow/tfjs';
import { amp } from '@tensorloop/amp';
import { sgd, Trainer } from '@tensorloop/core';
import { mnistDigits } from './digits.js';
import { digitModel } from './training.js';

// `scale` multiplies the loss and divides the learning rate: the same training in float32, but
// gradients `scale` times smaller, below what a half float holds (6e-8) when scale is small.
type Variant = 'none' | 'static-1' | 'dynamic';

async function run(variant: Variant, halfTextures: boolean, scale: number, epochs: number) {
  const { train, validation } = mnistDigits();
  const precision = { precision: 'float16' as const, halfFloatTextures: halfTextures };
  const plugins =
    variant === 'none' ? [] : [amp(variant === 'dynamic' ? precision : { ...precision, lossScale: 1 })];
  const trainer = new Trainer({
    model: digitModel(11),
    loss: (yTrue, yPred) => tf.mul(tf.metrics.categoricalCrossentropy(yTrue, yPred).mean(), scale),
    metrics: ['accuracy'],
    optimizer: sgd({ lr: 0.1 / scale }),
    plugins,
    seed: 3,
    log: 'silent',
  });
  try {
    const result = await trainer.fit(train, { epochs, batchSize: 32, validationData: validation });
    const last = result.history.at(-1)?.logs ?? {};
    return {
      variant,
      lossScale: scale,
      valAccuracy: last.val_accuracy,
      loss: (last.loss ?? Number.NaN) / scale,
      ampScale: last.loss_scale,
      skipped: last.skipped_steps,
      stopReason: result.stopReason?.message,
    };
  } catch (error) {
    return { variant, lossScale: scale, error: String(error) };
  } finally {
    trainer.model.dispose();
  }
}

/**
 * With real f16 textures (floatPrecision() 16) the variants run on them; otherwise on amp's float16
 * emulation (every tensor of the forward and backward pass rounded to half precision). Each
 * variant: no amp (f16 textures only), amp with a static scale of 1 (rounding, no scaling), amp
 * with dynamic loss scaling.
 */
export async function ampF16(epochs = 2) {
  const webgl = tf.getBackend() === 'webgl';
  const info = {
    backend: tf.getBackend(),
    forceF16: tf.env().getBool('WEBGL_FORCE_F16_TEXTURES'),
    floatPrecision: webgl ? (tf.backend() as unknown as { floatPrecision(): number }).floatPrecision() : 32,
    // What an f16 texture would lose: 1e-8 flushes to 0, 1 + 1e-4 rounds to 1, 300² overflows.
    roundTrips: {
      tiny: tf.tidy(() => tf.abs(tf.scalar(1e-8)).dataSync()[0]),
      nearOne: tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1e-4)).dataSync()[0]),
      big: tf.tidy(() => tf.mul(tf.scalar(300), tf.scalar(300)).dataSync()[0]),
    },
  };
  const halfTextures = webgl && info.floatPrecision === 16;
  const variants: Variant[] = halfTextures ? ['none', 'static-1', 'dynamic'] : ['static-1', 'dynamic'];
  const runs = [];
  for (const scale of [1, 2 ** -24]) {
    for (const variant of variants) runs.push(await run(variant, halfTextures, scale, epochs));
  }
  return { ...info, on: halfTextures ? 'f16 textures' : 'amp float16 emulation', runs };
}
