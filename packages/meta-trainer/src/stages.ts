import { describeValue, type FitOptions, type Plugin, TensorloopError } from '@tensorloop/core';
import { META_TRAINER } from './names.js';
import { checkStageOptimizer } from './optimizers.js';
import type { MetaTrainerOptions, StageSpec } from './types.js';

export interface CheckedStage {
  readonly name: string;
  readonly spec: StageSpec;
  /** The constructor's `stagePlugins[index]`, then the stage's own `plugins`. */
  readonly plugins: readonly Plugin[];
  readonly fit: FitOptions;
}

export const defaultStageName = (index: number): string => `stage ${index}`;

const invalid = (message: string) =>
  new TensorloopError('TL_OPTION_INVALID', `[${META_TRAINER}] ${message}`, { plugin: META_TRAINER });

/** A stage must train something: `epochs` an integer ≥ 1 (and `stepsPerEpoch`, when given, ≥ 1). */
export function checkTrainsSomething(
  index: number,
  name: string,
  options: { epochs?: unknown; stepsPerEpoch?: unknown },
): void {
  const label = `Stage ${index} ("${name}")`;
  const { epochs, stepsPerEpoch } = options;
  if (epochs === 0) {
    throw invalid(`${label} would train nothing: epochs is 0. Give it epochs ≥ 1, or leave the stage out.`);
  }
  if (typeof epochs !== 'number' || !Number.isInteger(epochs) || epochs < 1) {
    throw invalid(
      `${label}: epochs must be an integer ≥ 1 (the number of epochs of the stage); got ${describeValue(epochs)}.`,
    );
  }
  if (stepsPerEpoch !== undefined && !(Number.isInteger(stepsPerEpoch) && (stepsPerEpoch as number) >= 1)) {
    throw invalid(
      `${label} would train nothing: stepsPerEpoch is ${describeValue(stepsPerEpoch)}. Give it ≥ 1, or omit it.`,
    );
  }
}

export function checkStagePlugins(
  stagePlugins: MetaTrainerOptions['stagePlugins'],
): Readonly<Record<number, readonly Plugin[]>> {
  if (stagePlugins === undefined) return {};
  if (typeof stagePlugins !== 'object' || stagePlugins === null) {
    throw invalid(
      'stagePlugins must be an object of plugin lists by stage index: { 1: [freezeExcept(/classifier/)] }.',
    );
  }
  for (const [key, list] of Object.entries(stagePlugins)) {
    if (!/^(0|[1-9]\d*)$/.test(key))
      throw invalid(`stagePlugins keys are stage indices (0, 1, ...); got "${key}".`);
    if (!Array.isArray(list)) throw invalid(`stagePlugins[${key}] must be an array of plugins.`);
  }
  return stagePlugins;
}

/** Every stage checked before the first one starts (a bad stage 4 fails before stage 0 trains). */
export function checkStages(
  stages: readonly StageSpec[],
  stagePlugins: Readonly<Record<number, readonly Plugin[]>>,
): CheckedStage[] {
  if (!Array.isArray(stages) || stages.length === 0) {
    throw invalid('run(stages) needs a non-empty array of stages: [{ data, epochs }, ...].');
  }
  return stages.map((spec, index) => {
    if (typeof spec !== 'object' || spec === null)
      throw invalid(`stages[${index}] must be { data, epochs, ... }.`);
    const name = spec.name ?? defaultStageName(index);
    if (typeof name !== 'string' || name === '')
      throw invalid(`stages[${index}].name must be a non-empty string.`);
    checkTrainsSomething(index, name, spec);
    if (spec.data === undefined || spec.data === null) {
      throw invalid(
        `Stage ${index} ("${name}") has no data: give it { data: { x, y } } (or a dataset or iterable).`,
      );
    }
    checkStageOptimizer(spec.optimizer, `stages[${index}]`);
    if (spec.plugins !== undefined && !Array.isArray(spec.plugins)) {
      throw invalid(`stages[${index}].plugins must be an array of plugins.`);
    }
    const { name: _n, data: _d, optimizer: _o, plugins: _p, ...fit } = spec;
    return {
      name,
      spec,
      plugins: [...(stagePlugins[index] ?? []), ...(spec.plugins ?? [])],
      fit,
    };
  });
}
