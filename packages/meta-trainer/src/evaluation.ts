import type * as tf from '@tensorflow/tfjs';
import { type DataInput, describeValue, TensorloopError, type Trainer } from '@tensorloop/core';
import { META_TRAINER } from './names.js';
import type { EvaluationRecord, StreamLayout } from './state.js';
import type { EvaluateSpec, Experience } from './types.js';

export interface ResolvedEvaluation {
  readonly streams: readonly {
    readonly name: string;
    readonly experiences: readonly { readonly data: DataInput; readonly samples: number }[];
  }[];
  readonly atInit: boolean;
  readonly metric: string;
  readonly batchSize: number;
}

const invalid = (message: string) =>
  new TensorloopError('TL_OPTION_INVALID', `[${META_TRAINER}] evaluate: ${message}`, {
    plugin: META_TRAINER,
  });

const isTensor = (v: unknown): v is tf.Tensor =>
  typeof v === 'object' && v !== null && Array.isArray((v as tf.Tensor).shape) && 'dtype' in v;

function samplesOf(exp: Experience, where: string): { data: DataInput; samples: number } {
  if (typeof exp === 'object' && exp !== null && 'data' in exp && 'samples' in exp) {
    if (!Number.isInteger(exp.samples) || exp.samples < 1) {
      throw invalid(
        `${where}.samples must be an integer ≥ 1 (the experience's sample count); got ${describeValue(exp.samples)}.`,
      );
    }
    return { data: exp.data, samples: exp.samples };
  }
  const x = (exp as { x?: unknown } | null)?.x;
  const first = Array.isArray(x) ? x[0] : x;
  if (!isTensor(first) || first.shape.length === 0) {
    throw invalid(
      `${where} must be { x, y } tensors (the sample count is read from them) or { data, samples } for other data.`,
    );
  }
  const samples = first.shape[0]!;
  if (samples < 1) throw invalid(`${where} holds no samples.`);
  return { data: exp as DataInput, samples };
}

/** Checks an `evaluate` option; undefined when there is none. */
export function resolveEvaluation(spec: EvaluateSpec | undefined): ResolvedEvaluation | undefined {
  if (spec === undefined) return undefined;
  if (
    typeof spec !== 'object' ||
    spec === null ||
    typeof spec.streams !== 'object' ||
    spec.streams === null
  ) {
    throw invalid(
      'expected { streams: { test: [experience0, experience1, ...] }, at?, metric?, batchSize? }.',
    );
  }
  const names = Object.keys(spec.streams);
  if (names.length === 0) throw invalid('streams is empty; name at least one stream ({ test: [...] }).');
  const streams = names.map((name) => {
    const list = spec.streams[name];
    if (!Array.isArray(list) || list.length === 0) {
      throw invalid(
        `streams.${name} must be a non-empty array of experiences (experience j: the data of stage j).`,
      );
    }
    return { name, experiences: list.map((e, j) => samplesOf(e, `streams.${name}[${j}]`)) };
  });
  const at = spec.at ?? 'each-stage';
  if (at !== 'each-stage' && at !== 'init-and-each-stage') {
    throw invalid(`at must be 'each-stage' or 'init-and-each-stage'; got ${describeValue(at)}.`);
  }
  const batchSize = spec.batchSize ?? 128;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw invalid(`batchSize must be an integer ≥ 1; got ${batchSize}.`);
  const metric = spec.metric ?? 'accuracy';
  if (typeof metric !== 'string' || metric === '')
    throw invalid('metric must be a log key such as "accuracy".');
  return { streams, atInit: at === 'init-and-each-stage', metric, batchSize };
}

export const layoutOf = (ev: ResolvedEvaluation | undefined): StreamLayout =>
  ev ? ev.streams.map((s) => ({ name: s.name, samples: s.experiences.map((e) => e.samples) })) : [];

/** Evaluates every experience of every stream with `trainer.evaluate` (inference mode). */
export async function evaluateStreams(
  trainer: Trainer,
  ev: ResolvedEvaluation,
): Promise<EvaluationRecord['streams']> {
  const out: { accuracy: number[]; loss: number[] }[] = [];
  for (const stream of ev.streams) {
    const accuracy: number[] = [];
    const loss: number[] = [];
    for (const [j, exp] of stream.experiences.entries()) {
      const logs = await trainer.evaluate(exp.data, { batchSize: ev.batchSize });
      const value = logs[ev.metric];
      if (value === undefined) {
        throw new TensorloopError(
          'TL_METRIC_UNKNOWN',
          `[${META_TRAINER}] evaluating ${stream.name} experience ${j} gave no "${ev.metric}" (logs: ${Object.keys(logs).join(', ')}). Give the Trainer metrics: ['accuracy'], or set evaluate.metric to a key it logs.`,
          { plugin: META_TRAINER },
        );
      }
      accuracy.push(value);
      loss.push(logs.loss ?? Number.NaN);
    }
    out.push({ accuracy, loss });
  }
  return out;
}

/** True when `saved` describes the same streams (names and experience sizes) as `layout`. */
export function sameLayout(saved: StreamLayout, layout: StreamLayout): boolean {
  return (
    saved.length === layout.length &&
    saved.every(
      (s, i) =>
        s.name === layout[i]!.name &&
        s.samples.length === layout[i]!.samples.length &&
        s.samples.every((n, j) => n === layout[i]!.samples[j]),
    )
  );
}
