// What the numbers were measured on.
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';

/** CPU model, cores, memory, OS, Node, tfjs version and the active (or named) backend. */
export function describeMachine(backend = tf.getBackend()) {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    tfjs: tf.version.tfjs,
    backend,
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

/** One line for a markdown file. */
export function machineLine(m) {
  return (
    `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, tfjs ${m.tfjs}` +
    ` (${m.backend}); load average at start ${m.loadAverage.join(' / ')} (the machine is shared).`
  );
}
