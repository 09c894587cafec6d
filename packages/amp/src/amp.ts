import * as tf from '@tensorflow/tfjs';
import {
  definePlugin,
  describeValue,
  type Plugin,
  readState,
  stop,
  TensorloopError,
  type TrainerContext,
} from '@tensorloop/core';
import { PrecisionEmulator } from './emulation.js';
import { backendStoresHalfFloats } from './half-floats.js';
import {
  LossScale,
  NO_READING,
  readingOf,
  type ScaleReading,
  type ScaleRule,
  STATE_SHAPES,
  type StateTensorName,
} from './loss-scale.js';
import { type AmpOptions, resolveOptions } from './options.js';
import { describeLayer, type LayerPrecision, planPrecision } from './precision-plan.js';
import type { Precision } from './rounding.js';

export const AMP_PLUGIN = '@tensorloop/amp';

/** What `ctx.plugin('@tensorloop/amp')` returns. */
export interface AmpApi {
  /** The loss scale as of the last read-back (the end of the last epoch, or batch logs when read). */
  readonly lossScale: number;
  /** Steps skipped for inf/NaN gradients in the whole run, as of the last read-back. */
  readonly skippedSteps: number;
  readonly precision: Precision;
  /** How each layer computes (empty with `precision: 'float32'`, or before the model is known). */
  precisionPlan(): readonly Omit<LayerPrecision, 'target'>[];
}

/** The JSON part of the checkpointed state; the scale and its counters are state tensors. */
export interface AmpState {
  readonly format: 1;
  readonly lossScale: 'dynamic' | 'static';
  readonly precision: Precision;
}

function describeRule(rule: ScaleRule): string {
  if (!rule.dynamic)
    return `loss scale: static ${rule.initialScale}; a step with inf/NaN gradients is skipped`;
  return (
    `loss scale: dynamic, from ${rule.initialScale}; × ${rule.growthFactor} after ${rule.growthInterval} ` +
    `finite steps in a row, × ${rule.backoffFactor} and the step skipped on inf/NaN gradients, ` +
    `never below ${rule.minScale} (an overflow there stops the fit)`
  );
}

function describePrecision(precision: Precision, textures: boolean): string {
  if (precision === 'float32') return 'precision: float32 (loss scaling only; nothing is rounded)';
  if (textures) {
    return 'precision: float16 in WebGL f16 textures (every tensor the backend stores is half precision, the weights included: no float32 master copy)';
  }
  return `precision: ${precision}, emulated (round to nearest even, subnormals, overflow to Infinity) on the forward and backward pass; float32 master weights and optimizer; the loss in float32`;
}

/**
 * Mixed precision for a tensorloop trainer: dynamic (or static) loss scaling with the overflow skip
 * gated on the device, and, with `precision: 'float16' | 'bfloat16'`, a forward and backward pass
 * rounded to that format while the optimizer updates float32 master weights. On tfjs this gives the
 * numerics of mixed precision, not its speed: see the README.
 */
export function amp(options: AmpOptions = {}): Plugin<typeof AMP_PLUGIN> {
  const opts = resolveOptions(options);
  const { rule, precision, halfFloatTextures } = opts;
  const rounds = precision !== 'float32' && !halfFloatTextures;
  /** Scaling by exactly 1 changes nothing: skip its two ops per weight. */
  const scales = rule.dynamic || rule.initialScale !== 1;
  let scale: LossScale | undefined;
  let emulator: PrecisionEmulator | undefined;
  let plan: LayerPrecision[] = [];
  let planned: tf.LayersModel | undefined;
  /** The model whose layers carry this plugin's rounding (describe() may plan before that). */
  let installed: tf.LayersModel | undefined;
  let reading: ScaleReading = { scale: rule.initialScale, ...NO_READING };
  let collapseReported = false;

  // Tensors are made on first use: the factory may run before the backend is chosen. A backend that
  // stores half floats (WebGL with WEBGL_FORCE_F16_TEXTURES) needs the element-wise check and the
  // 2^15 cap whether or not halfFloatTextures was asked for: the scale itself is a half float there.
  const state = (): LossScale => {
    scale ??= new LossScale(rule, halfFloatTextures || backendStoresHalfFloats());
    return scale;
  };

  const planFor = (model: tf.LayersModel): LayerPrecision[] => {
    if (planned !== model) {
      plan = precision === 'float32' ? [] : planPrecision(model, precision, opts.keepFloat32).layers;
      planned = model;
    }
    return plan;
  };

  const setUpPrecision = (ctx: TrainerContext): void => {
    if (halfFloatTextures) {
      const backend = tf.getBackend();
      const bits = backend === 'webgl' ? tf.backend().floatPrecision() : undefined;
      if (!backendStoresHalfFloats()) {
        throw new TensorloopError(
          'TL_OPTION_INVALID',
          `amp(): halfFloatTextures needs the WebGL backend storing f16 textures; the backend is '${backend}'${
            bits ? ` with ${bits}-bit floats` : ''
          }. Call tf.env().set('WEBGL_FORCE_F16_TEXTURES', true) (tf.webgl.forceHalfFloat()) before the backend creates its first tensor and use tf.setBackend('webgl'), or drop halfFloatTextures to emulate float16 on any backend.`,
          { plugin: AMP_PLUGIN },
        );
      }
      return;
    }
    if (!rounds || emulator?.active) return;
    const model = ctx.model;
    const layers = planFor(model);
    if (installed !== model) {
      emulator ??= new PrecisionEmulator(precision as 'float16' | 'bfloat16');
      emulator.install(layers);
      installed = model;
      if (opts.keepGiven) {
        const { unused } = planPrecision(model, precision, opts.keepFloat32);
        if (unused.length > 0) {
          ctx.logger.warn(
            `keepFloat32 entries that match no layer, layer class or activation of this model: ${unused.map(String).join(', ')}. Layer names: ${layers.map((l) => l.layer).join(', ')}.`,
          );
        }
      }
    }
  };

  const setActive = (on: boolean): void => {
    if (emulator) emulator.active = on;
  };

  /** At a read-back: a collapse it shows happened in this epoch (every epoch ends with a read-back). */
  const collapseStop = (ctx: TrainerContext) => {
    if (collapseReported || reading.collapseStep < 0) return undefined;
    collapseReported = true;
    return stop(
      `the loss scale collapsed: step ${reading.collapseStep} (epoch ${ctx.time.epoch}) had inf/NaN gradients with the scale already at minScale ${rule.minScale}, so backing off cannot help. The loss or the gradients are not finite even unscaled: the model diverged or the data holds NaN/Infinity. Lower the learning rate, check the data, or clip gradients (gradientClip).`,
    );
  };

  const api: AmpApi = {
    get lossScale() {
      return reading.scale;
    },
    get skippedSteps() {
      return reading.skippedTotal;
    },
    precision,
    precisionPlan: () => plan.map(({ target: _target, ...rest }) => rest),
  };

  return definePlugin({
    logKeys: ['loss_scale', 'skipped_steps'],
    name: AMP_PLUGIN,
    // First in every hook: gradients are unscaled before any other plugin sees them, and the epoch
    // logs carry loss_scale before loggers and monitors read them. The loss is scaled last.
    enforce: 'pre',
    api,
    describe(ctx) {
      const lines = [describeRule(rule), describePrecision(precision, halfFloatTextures)];
      const layers = ctx ? planFor(ctx.model) : plan;
      if (rounds) for (const layer of layers) lines.push(`  ${describeLayer(layer)}`);
      return lines;
    },
    readback: {
      tensors: (): Record<string, tf.Scalar> => scale?.readbackTensors() ?? {},
      received: (values) => {
        reading = readingOf(values, reading);
      },
    },
    onFitStart(ctx) {
      state();
      setUpPrecision(ctx);
      setActive(true);
    },
    onEpochStart() {
      state().startEpoch();
    },
    transformLoss: {
      order: 'post',
      handler: (_ctx, loss) => (scales ? state().scaleLoss(loss) : loss),
    },
    transformGradients: {
      order: 'pre',
      handler: (_ctx, grads) => (scales ? state().unscale(grads) : grads),
    },
    transformStepGate: (ctx, gate, { grads }) =>
      tf.logicalAnd(gate, state().update(grads, ctx.time.step)) as tf.Scalar,
    onBatchEnd(ctx, event) {
      // Batch logs mean a read-back just happened: the reading is current.
      if (!event.logs) return undefined;
      event.logs.loss_scale = reading.scale;
      return collapseStop(ctx);
    },
    onEpochEnd(ctx, event) {
      event.logs.loss_scale = reading.scale;
      event.logs.skipped_steps = reading.skippedEpoch;
      return collapseStop(ctx);
    },
    onFitEnd() {
      setActive(false);
    },
    onEvaluateStart(ctx) {
      setUpPrecision(ctx);
      setActive(true);
    },
    onEvaluateEnd() {
      setActive(false);
    },
    state: (): AmpState => ({ format: 1, lossScale: rule.dynamic ? 'dynamic' : 'static', precision }),
    stateTensors: () => ({ ...state().tensors() }),
    parseState(saved) {
      const s = readState(saved, AMP_PLUGIN);
      if (s.integer('format', { min: 1 }) !== 1) {
        throw new TensorloopError(
          'TL_CHECKPOINT_INVALID',
          `[${AMP_PLUGIN}] the checkpoint's state has format ${describeValue((saved as { format?: unknown }).format)}; this version reads format 1. Upgrade @tensorloop/amp.`,
          { plugin: AMP_PLUGIN },
        );
      }
      return {
        format: 1,
        lossScale: s.oneOf('lossScale', ['dynamic', 'static'] as const),
        precision: s.oneOf('precision', ['float32', 'float16', 'bfloat16'] as const),
      };
    },
    loadState(saved, _version, tensors) {
      const values = readStateTensors(tensors);
      if (saved.lossScale !== (rule.dynamic ? 'dynamic' : 'static')) {
        throw new TensorloopError(
          'TL_CHECKPOINT_INVALID',
          `[${AMP_PLUGIN}] the checkpoint was trained with a ${saved.lossScale} loss scale, this amp() has a ${rule.dynamic ? 'dynamic' : 'static'} one. Resume with the same lossScale option.`,
          { plugin: AMP_PLUGIN },
        );
      }
      state().restore(values);
      const [skippedTotal, skippedEpoch] = values.skipped as [number, number];
      const collapseStep = values.collapseStep[0]!;
      reading = { scale: values.scale[0]!, skippedTotal, skippedEpoch, collapseStep };
      collapseReported = collapseStep >= 0;
    },
  });
}

/** The checkpoint's state tensors, checked (a checkpoint is a file: untrusted) before any is applied. */
function readStateTensors(tensors: Readonly<tf.NamedTensorMap>): Record<StateTensorName, number[]> {
  const out = {} as Record<StateTensorName, number[]>;
  for (const name of Object.keys(STATE_SHAPES) as StateTensorName[]) {
    const t = tensors[name];
    const fail = (what: string): never => {
      throw new TensorloopError(
        'TL_CHECKPOINT_INVALID',
        `[${AMP_PLUGIN}] the checkpoint's state tensor "${name}" ${what}. Resume from a checkpoint amp() wrote, or drop resumeFrom to start afresh.`,
        { plugin: AMP_PLUGIN },
      );
    };
    const shape: readonly number[] = STATE_SHAPES[name];
    if (!t) fail('is missing');
    if (!tf.util.arraysEqual(t!.shape, [...shape])) fail(`has shape [${t!.shape}], expected [${shape}]`);
    const values = Array.from(t!.dataSync());
    const ok =
      name === 'scale'
        ? values[0]! > 0 && Number.isFinite(values[0]!)
        : values.every((v) => Number.isInteger(v) && v >= (name === 'collapseStep' ? -1 : 0));
    if (!ok) {
      fail(
        `holds [${values.join(', ')}], which ${name === 'scale' ? 'is not a finite scale > 0' : 'are not counts'}`,
      );
    }
    out[name] = values;
  }
  return out;
}
