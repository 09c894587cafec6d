import digits from 'virtual:mnist-digits';
import * as tf from '@tensorflow/tfjs';

export interface DigitSet {
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor2D;
}

function decode(base64: string): Uint8Array {
  const text = atob(base64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function toTensors(part: { count: number; pixels: string; labels: string }): DigitSet {
  const pixels = decode(part.pixels);
  const labels = decode(part.labels);
  return tf.tidy(() => ({
    x: tf.div(tf.tensor2d(pixels, [part.count, 784], 'float32'), 255) as tf.Tensor2D,
    y: tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat() as tf.Tensor2D,
  }));
}

let cached: { train: DigitSet; validation: DigitSet } | undefined;

/** 2,000 training and 500 validation digits from the `mnist` package, bundled at build time. */
export function mnistDigits(): { train: DigitSet; validation: DigitSet } {
  cached ??= { train: toTensors(digits.train), validation: toTensors(digits.validation) };
  return cached;
}
