import type * as tf from '@tensorflow/tfjs';
import type { BackendInfo, Plugin } from '@tensorloop/core';
import type { report } from '@tensorloop/report';
import type { Split } from '../data.js';

/** What the demo's steps share: the model grows through them, the report records all of them. */
export interface DemoState {
  readonly backend: BackendInfo;
  readonly model: tf.LayersModel;
  readonly report: ReturnType<typeof report>;
  /** A fresh progress plugin for each trainer. */
  readonly progress: () => Plugin;
  readonly low: { readonly train: Split; readonly test: Split };
  readonly high: { readonly train: Split; readonly test: Split };
  /** Set by (a): the learning rate (b) trains with. */
  lr?: number;
  /** Test accuracy per step, for the closing lines and --check. */
  readonly results: Record<string, number>;
  say(line: string): void;
}

/**
 * One step of the demo. A step whose package has not landed yet says so and returns: it is
 * listed in the order it will run once that package exists.
 */
export interface DemoStep {
  readonly id: string;
  readonly title: string;
  /** Undefined when the step runs; else what it waits for. */
  readonly pending?: string;
  run(state: DemoState): Promise<void>;
}
