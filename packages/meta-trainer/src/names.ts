/** The package's name: its plugin's name (the checkpoint key) and the prefix of its messages. */
export const META_TRAINER = '@tensorloop/meta-trainer';

/** `Exp000`, `Exp001`, ... (Avalanche's experience segment). */
export const experienceLabel = (index: number): string => `Exp${String(index).padStart(3, '0')}`;

/**
 * Avalanche's default metric name for evaluation metrics, without a task segment (stages carry no
 * task labels): `Top1_Acc_Exp/eval_phase/test_stream/Exp001`, `StreamForgetting/eval_phase/test_stream`.
 */
export function metricName(metric: string, stream: string, experience?: number): string {
  const base = `${metric}/eval_phase/${stream}_stream`;
  return experience === undefined ? base : `${base}/${experienceLabel(experience)}`;
}
