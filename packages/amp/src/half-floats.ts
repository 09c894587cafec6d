import * as tf from '@tensorflow/tfjs';

/**
 * The backend keeps tensors as 16-bit floats: WebGL with f16 textures (`WEBGL_FORCE_F16_TEXTURES`,
 * or a device without float32 render targets). Defaults to the active backend.
 */
export function backendStoresHalfFloats(
  name: string = tf.getBackend(),
  backend: { floatPrecision?: () => number } = tf.backend() as { floatPrecision?: () => number },
): boolean {
  return name === 'webgl' && backend.floatPrecision?.() === 16;
}
