import * as tf from '@tensorflow/tfjs';
import { type DataInput, type DataSource, toDataSource } from '../data.js';
import type { LossSpec } from '../losses.js';
import { splitForValidation } from '../model-fit-compat.js';
import { preflight } from '../validate.js';

/** A fit's training and validation sources, checked before the first step; `dispose()` when done. */
export interface PreparedFitData {
  readonly source: DataSource;
  readonly validation: DataSource | undefined;
  dispose(): void;
}

/**
 * The sources a fit trains and validates on: `validationSplit` applied (tfjs's semantics), then the
 * data checked against the model and the loss (shapes; NaN/Infinity with `checkData`). Whatever was
 * made is disposed if a check fails.
 */
export async function prepareFitData(
  data: DataInput,
  options: { readonly validationData?: DataInput; readonly validationSplit?: number },
  checkData: boolean,
  model: tf.LayersModel,
  loss: LossSpec,
): Promise<PreparedFitData> {
  let split: ReturnType<typeof splitForValidation>;
  let source: DataSource | undefined;
  let validation: DataSource | undefined;
  const dispose = () => {
    source?.dispose();
    validation?.dispose();
    if (split) tf.dispose([split.train.x, split.train.y, split.validation.x, split.validation.y].flat());
  };
  try {
    split = splitForValidation(data, options.validationSplit, options.validationData !== undefined);
    source = toDataSource(split?.train ?? data, 'Training data');
    const validationData = split?.validation ?? options.validationData;
    validation = validationData === undefined ? undefined : toDataSource(validationData, 'validationData');
    await preflight(model, loss, source, 'training data', checkData);
    if (validation) await preflight(model, loss, validation, 'validationData', checkData);
  } catch (error) {
    dispose();
    throw error;
  }
  return { source, validation, dispose };
}
