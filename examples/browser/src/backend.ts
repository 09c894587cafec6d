import * as tf from '@tensorflow/tfjs';

export type BackendName = 'webgl' | 'cpu';

/** WebGL when this browser has it (and it is asked for or `auto`), else the cpu backend. */
export async function chooseBackend(wanted: string | null): Promise<BackendName> {
  if (wanted !== 'cpu') {
    try {
      if ((await tf.setBackend('webgl')) && tf.getBackend() === 'webgl') {
        await tf.ready();
        return 'webgl';
      }
    } catch {
      // no WebGL context here (headless with --disable-gpu has none): fall through to cpu
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return 'cpu';
}
