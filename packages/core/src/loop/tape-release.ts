import * as tf from '@tensorflow/tfjs';

interface TapeState {
  gradientDepth: number;
  activeTape: Array<{ saved?: tf.Tensor[] }> | null;
}

/**
 * tfjs 4.22's `engine.gradients` disposes the tensors its tape saved for the backward pass only
 * when the forward function returns: when it throws (a `transformLoss` hook, a loss function),
 * they stay alive for good, and the tape stays referenced. Called on a step's error path, outside
 * every gradient scope, this disposes them as a completed backward pass would.
 */
export function releaseTapeAfterError(): void {
  const state = (tf.engine() as unknown as { state?: TapeState }).state;
  if (!state || state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null;
}
