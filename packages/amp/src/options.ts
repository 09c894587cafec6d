import { checkOptionKeys, describeValue, TensorloopError } from '@tensorloop/core';
import type { ScaleRule } from './loss-scale.js';
import { checkKeepFloat32, DEFAULT_KEEP_FLOAT32, type KeepFloat32Entry } from './precision-plan.js';
import { checkPrecision, type Precision } from './rounding.js';

export interface AmpOptions {
  /**
   * `'dynamic'` (default): Keras `LossScaleOptimizer` / PyTorch `GradScaler` dynamic loss scaling.
   * A number: a static scale. Either way a step with inf/NaN gradients is skipped.
   */
  readonly lossScale?: 'dynamic' | number;
  /** The dynamic scale to start from. Default 2¹⁵ (Keras; PyTorch starts at 2¹⁶). */
  readonly initialScale?: number;
  /** Finite steps in a row after which the dynamic scale grows. Default 2000. */
  readonly growthInterval?: number;
  /** The dynamic scale's growth factor (> 1). Default 2. */
  readonly growthFactor?: number;
  /** The dynamic scale's factor on an overflow, in (0, 1). Default 0.5. */
  readonly backoffFactor?: number;
  /** The dynamic scale never goes below this; an overflow at it stops the fit. Default 1. */
  readonly minScale?: number;
  /**
   * What the forward and backward pass compute in: `'float32'` (default: loss scaling only),
   * `'float16'` or `'bfloat16'` (weights and activations rounded, float32 master weights).
   */
  readonly precision?: Precision;
  /**
   * Layers (and activations) that stay float32 under `'float16'`/`'bfloat16'`: layer class names,
   * activation names, layer names, or RegExps over layer names. Replaces the default
   * `['BatchNormalization', 'LayerNormalization', 'Softmax', 'softmax', 'logSoftmax']`.
   */
  readonly keepFloat32?: readonly KeepFloat32Entry[];
  /**
   * WebGL only, with `precision: 'float16'`: use the backend's real f16 textures
   * (`WEBGL_FORCE_F16_TEXTURES`, set before the backend starts) instead of rounding. Default false.
   */
  readonly halfFloatTextures?: boolean;
}

export interface ResolvedAmpOptions {
  readonly rule: ScaleRule;
  readonly precision: Precision;
  readonly keepFloat32: readonly KeepFloat32Entry[];
  /** The user chose `keepFloat32` (then entries that match nothing are worth a warning). */
  readonly keepGiven: boolean;
  readonly halfFloatTextures: boolean;
}

const KEYS = [
  'lossScale',
  'initialScale',
  'growthInterval',
  'growthFactor',
  'backoffFactor',
  'minScale',
  'precision',
  'keepFloat32',
  'halfFloatTextures',
] as const;

const DYNAMIC_ONLY = ['initialScale', 'growthInterval', 'growthFactor', 'backoffFactor', 'minScale'] as const;

function invalid(message: string): TensorloopError {
  return new TensorloopError('TL_OPTION_INVALID', `amp(): ${message}`);
}

function positive(name: string, value: unknown, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw invalid(`${name} must be a finite number > 0; got ${describeValue(v)}.`);
  }
  return v;
}

export function resolveOptions(options: AmpOptions): ResolvedAmpOptions {
  if (options === null || typeof options !== 'object')
    throw invalid(`options must be an object; got ${describeValue(options)}.`);
  checkOptionKeys('amp()', options, KEYS);
  const lossScale = options.lossScale ?? 'dynamic';
  let rule: ScaleRule;
  if (lossScale === 'dynamic') {
    const initialScale = positive('initialScale', options.initialScale, 2 ** 15);
    const growthInterval = options.growthInterval ?? 2000;
    if (!Number.isInteger(growthInterval) || growthInterval < 1) {
      throw invalid(`growthInterval must be an integer ≥ 1; got ${describeValue(growthInterval)}.`);
    }
    const growthFactor = positive('growthFactor', options.growthFactor, 2);
    if (growthFactor <= 1) throw invalid(`growthFactor must be > 1; got ${growthFactor}.`);
    const backoffFactor = positive('backoffFactor', options.backoffFactor, 0.5);
    if (backoffFactor >= 1) throw invalid(`backoffFactor must be in (0, 1); got ${backoffFactor}.`);
    const minScale = positive('minScale', options.minScale, 1);
    if (minScale > initialScale) {
      throw invalid(`minScale (${minScale}) must not exceed initialScale (${initialScale}).`);
    }
    rule = { dynamic: true, initialScale, growthInterval, growthFactor, backoffFactor, minScale };
  } else if (typeof lossScale === 'number') {
    const scale = positive('lossScale', lossScale, 1);
    const given = DYNAMIC_ONLY.filter((k) => options[k] !== undefined);
    if (given.length > 0) {
      throw invalid(
        `${given.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} to lossScale: 'dynamic'; with a static lossScale (${scale}) the scale never changes. Drop ${given.length === 1 ? 'it' : 'them'}, or use lossScale: 'dynamic'.`,
      );
    }
    rule = {
      dynamic: false,
      initialScale: scale,
      growthInterval: 1,
      growthFactor: 1,
      backoffFactor: 1,
      minScale: scale,
    };
  } else {
    throw invalid(`lossScale must be 'dynamic' or a number > 0; got ${JSON.stringify(lossScale)}.`);
  }
  const precision = checkPrecision(options.precision ?? 'float32', 'amp(): precision');
  const halfFloatTextures = options.halfFloatTextures ?? false;
  if (typeof halfFloatTextures !== 'boolean') throw invalid(`halfFloatTextures must be a boolean.`);
  if (halfFloatTextures && precision !== 'float16') {
    throw invalid(
      `halfFloatTextures needs precision: 'float16' (WebGL's f16 textures are IEEE half); got '${precision}'.`,
    );
  }
  return {
    rule,
    precision,
    keepFloat32: checkKeepFloat32(options.keepFloat32 ?? DEFAULT_KEEP_FLOAT32),
    keepGiven: options.keepFloat32 !== undefined,
    halfFloatTextures,
  };
}
