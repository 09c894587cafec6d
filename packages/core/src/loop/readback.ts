import * as tf from '@tensorflow/tfjs';
import { describeValue } from '../describe-value.js';
import { TensorloopError } from '../errors.js';
import { wrapHookError } from '../hooks.js';
import type { Plugin } from '../plugin.js';
import type { Time } from '../time.js';
import type { PendingGate } from './step-gate.js';

/** Steps gated on the device over one variable list: how many were skipped, summed on the device. */
interface GateGroup {
  readonly variables: readonly string[];
  readonly skipped: tf.Scalar;
}

/**
 * What waits for the host between read-backs: how many device-gated steps were skipped
 * (`stepGate: 'device'`), and the device values plugins declare in `readback`. Both ride on the
 * read-backs the training loop makes anyway (epoch logs, batch logs when read, a checkpoint), so
 * neither costs a transfer of its own (DESIGN §4). The skip count is folded on the device as the
 * steps come, so the tensors held stay constant however long the epoch.
 */
export class Readback {
  private readonly groups = new Map<string, GateGroup>();

  constructor(
    /** The trainer's plugins (live: plugins may be added between fits). */
    private readonly plugins: () => readonly Plugin[],
    /** `count` of the steps counted over `variables` were skipped on the device. */
    private readonly onSkipped: (variables: readonly string[], count: number) => void,
    private readonly now: () => Time,
    /** Values that must be read before a checkpoint records the state (the trainer's non-finite watch). */
    private readonly mustSettle: () => boolean = () => false,
  ) {}

  private get readers(): Plugin[] {
    return this.plugins().filter((p) => p.readback !== undefined);
  }

  /** True when a read-back would carry more than its own values. */
  get active(): boolean {
    return this.groups.size > 0 || this.plugins().some((p) => p.readback !== undefined);
  }

  /** A step applied through a device gate: count it as skipped unless its gate was true. */
  addGate(gate: PendingGate | undefined): void {
    if (!gate) return;
    const key = gate.variables.join('\n');
    const group = this.groups.get(key);
    const skipped = tf.tidy(() => {
      const miss = tf.cast(tf.logicalNot(gate.flag), 'float32') as tf.Scalar;
      return group ? (tf.add(group.skipped, miss) as tf.Scalar) : miss;
    });
    group?.skipped.dispose();
    gate.flag.dispose();
    this.groups.set(key, { variables: gate.variables, skipped });
  }

  /**
   * Read `main` together with everything pending, in one transfer; returns `main`'s values. Skipped
   * gated steps are reported (`onSkipped`) and plugins receive their values before this resolves.
   */
  async read(main: tf.Tensor): Promise<ArrayLike<number>> {
    if (!this.active) return main.data();
    return this.readWith(main);
  }

  /** Settle what is pending on its own (before a checkpoint records time): a no-op when no gated step waits. */
  async settle(): Promise<void> {
    if (this.groups.size > 0 || this.mustSettle()) await this.readWith(undefined);
  }

  dispose(): void {
    for (const g of this.groups.values()) g.skipped.dispose();
    this.groups.clear();
  }

  private async readWith(main: tf.Tensor | undefined): Promise<ArrayLike<number>> {
    const groups = [...this.groups.values()];
    this.groups.clear();
    const keys: { plugin: Plugin; key: string }[] = [];
    const readers = this.readers;
    let all: tf.Tensor1D;
    try {
      all = tf.tidy(() => {
        const parts: tf.Tensor1D[] = main ? [flat(main)] : [];
        for (const g of groups) parts.push(flat(g.skipped));
        for (const plugin of readers) {
          for (const [key, value] of Object.entries(this.pluginTensors(plugin))) {
            parts.push(flat(value));
            keys.push({ plugin, key });
          }
        }
        return tf.concat(parts) as tf.Tensor1D;
      });
    } finally {
      for (const g of groups) g.skipped.dispose();
    }
    const values = await all.data();
    all.dispose();
    const offset = main?.size ?? 0;
    groups.forEach((g, i) => {
      const skipped = values[offset + i]!;
      if (skipped > 0) this.onSkipped(g.variables, skipped);
    });
    this.deliver(readers, keys, values, offset + groups.length);
    return values.subarray(0, offset);
  }

  private pluginTensors(plugin: Plugin): Readonly<Record<string, tf.Scalar>> {
    let tensors: Readonly<Record<string, tf.Scalar>>;
    try {
      tensors = plugin.readback!.tensors();
    } catch (cause) {
      throw wrapHookError(cause, plugin.name, 'readback.tensors', this.now());
    }
    for (const [key, value] of Object.entries(tensors)) {
      if (!(value instanceof tf.Tensor) || value.size !== 1) {
        throw new TensorloopError(
          'TL_PLUGIN_INVALID',
          `[${plugin.name}] readback.tensors() must return scalar tensors; "${key}" is ${
            value instanceof tf.Tensor ? `a tensor of shape [${value.shape}]` : describeValue(value)
          }.`,
          { plugin: plugin.name, hook: 'readback.tensors' },
        );
      }
    }
    return tensors;
  }

  private deliver(
    readers: readonly Plugin[],
    keys: readonly { plugin: Plugin; key: string }[],
    values: ArrayLike<number>,
    from: number,
  ): void {
    const byPlugin = new Map<Plugin, Record<string, number>>();
    keys.forEach(({ plugin, key }, i) => {
      const record = byPlugin.get(plugin) ?? {};
      record[key] = values[from + i]!;
      byPlugin.set(plugin, record);
    });
    for (const plugin of readers) {
      try {
        plugin.readback!.received(byPlugin.get(plugin) ?? {});
      } catch (cause) {
        throw wrapHookError(cause, plugin.name, 'readback.received', this.now());
      }
    }
  }
}

function flat(t: tf.Tensor): tf.Tensor1D {
  return tf.reshape(t.dtype === 'float32' ? t : tf.cast(t, 'float32'), [-1]) as tf.Tensor1D;
}
