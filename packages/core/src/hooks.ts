import * as tf from '@tensorflow/tfjs';
import { describeValue } from './describe-value.js';
import { TensorloopError } from './errors.js';
import {
  HOOK_KINDS,
  type HookEvents,
  type ObjectHook,
  type Plugin,
  type StepTransformName,
  type StepTransforms,
  type TrainerContext,
} from './plugin.js';
import { isSignal, SIGNALS_ALLOWED, type Signal } from './signals.js';
import type { Time } from './time.js';

type AnyFn = (...args: never[]) => unknown;

export interface HandlerEntry<F> {
  readonly plugin: string;
  readonly fn: F;
  readonly ctx: TrainerContext;
}

export interface RaisedSignal {
  readonly plugin: string;
  readonly hook: string;
  readonly signal: Signal;
}

function unwrap<F>(hook: ObjectHook<F>): { fn: F; order: 'pre' | 'normal' | 'post' } {
  if (typeof hook === 'function') return { fn: hook, order: 'normal' };
  const obj = hook as { handler: F; order?: 'pre' | 'post' };
  return { fn: obj.handler, order: obj.order ?? 'normal' };
}

const ORDER_RANK = { pre: 0, normal: 1, post: 2 } as const;

/** Describe the time for error messages: "epoch 3, step 17 (batch 2 of the epoch)". */
export function describeTime(time: Time): string {
  return `epoch ${time.epoch}, step ${time.step}, batch ${time.epochBatch} of the epoch`;
}

/**
 * The one rule for failures inside a hook: a `TensorloopError` naming the plugin, the hook and the
 * time. A plugin's own coded error keeps its code (`TL_MONITOR_UNKNOWN` stays what it is, so callers
 * can branch on it); anything else is `TL_HOOK_FAILED`. Each prefix is printed once, and the
 * original error is the `cause`.
 */
export function wrapHookError(cause: unknown, plugin: string, hook: string, time: Time): TensorloopError {
  if (cause instanceof TensorloopError && cause.hook !== undefined) return cause;
  const code = cause instanceof TensorloopError ? cause.code : 'TL_HOOK_FAILED';
  let message = cause instanceof Error ? cause.message : String(cause);
  if (cause instanceof TensorloopError) {
    // Its message starts with its own "[CODE] " (and often "[plugin] "): they are said once, in front.
    message = message.replace(`[${cause.code}] `, '').replace(`[${plugin}] `, '');
  }
  return new TensorloopError(code, `[${plugin}] hook "${hook}" failed at ${describeTime(time)}: ${message}`, {
    plugin,
    hook,
    time: { ...time },
    cause,
  });
}

/**
 * Handler lists per hook, resolved once from the ordered plugins (per-hook `order` refines the
 * plugin order for that hook only), and the four dispatch kinds (`HOOK_KINDS` in `plugin.ts` says
 * which core hook is which): `emit` (async, may return signals), `emitIsolated` (async, the error
 * path: failures are reported, the rest still run), `transform` (sync waterfall in the step),
 * `notify` (sync, no return value).
 */
export class HookRunner {
  private readonly handlers = new Map<string, HandlerEntry<AnyFn>[]>();

  constructor(
    plugins: readonly Plugin[],
    private readonly ctxFor: (plugin: string) => TrainerContext,
    private readonly now: () => Time,
  ) {
    this.setPlugins(plugins);
  }

  /** Resolve the handler lists again for another ordered plugin list (plugins added between fits). */
  setPlugins(plugins: readonly Plugin[]): void {
    const byHook = new Map<string, { entry: HandlerEntry<AnyFn>; rank: number; position: number }[]>();
    plugins.forEach((plugin, position) => {
      for (const [key, value] of Object.entries(plugin)) {
        if (!isHookKey(key) || value === undefined) continue;
        if (
          typeof value !== 'function' &&
          (typeof value !== 'object' || typeof value.handler !== 'function')
        ) {
          throw new TensorloopError(
            'TL_PLUGIN_INVALID',
            `Plugin "${plugin.name}": "${key}" must be a function or { handler, order }.`,
            { plugin: plugin.name, hook: key },
          );
        }
        const { fn, order } = unwrap(value as ObjectHook<AnyFn>);
        const list = byHook.get(key) ?? [];
        list.push({
          entry: { plugin: plugin.name, fn, ctx: this.ctxFor(plugin.name) },
          rank: ORDER_RANK[order],
          position,
        });
        byHook.set(key, list);
      }
    });
    this.handlers.clear(); // only once every hook is valid: a bad plugin list changes nothing
    for (const [hook, list] of byHook) {
      list.sort((a, b) => a.rank - b.rank || a.position - b.position);
      this.handlers.set(
        hook,
        list.map((x) => x.entry),
      );
    }
  }

  has(hook: string): boolean {
    return (this.handlers.get(hook)?.length ?? 0) > 0;
  }

  /** Plugin names in the order they handle `hook`. */
  order(hook: string): string[] {
    return (this.handlers.get(hook) ?? []).map((h) => h.plugin);
  }

  hooks(): string[] {
    return [...this.handlers.keys()];
  }

  /**
   * `emit`: await every handler of a lifecycle or custom event in order. Every plugin sees the event; the
   * signals they return are collected and validated against what the hook can honour.
   */
  async emit<K extends keyof HookEvents>(
    hook: K,
    event: HookEvents[K],
    onSignal?: (raised: RaisedSignal) => void,
  ): Promise<RaisedSignal[]> {
    const list = this.handlers.get(hook);
    if (!list) return [];
    const raised: RaisedSignal[] = [];
    for (const h of list) {
      let result: unknown;
      try {
        result = await (h.fn as unknown as (ctx: TrainerContext, e: HookEvents[K]) => unknown)(h.ctx, event);
      } catch (cause) {
        throw wrapHookError(cause, h.plugin, hook, this.now());
      }
      if (result === undefined) continue;
      const allowed: readonly string[] = (SIGNALS_ALLOWED as Record<string, readonly string[]>)[hook] ?? [];
      if (!isSignal(result) || !allowed.includes(result.signal)) {
        throw new TensorloopError(
          'TL_SIGNAL_INVALID',
          `[${h.plugin}] hook "${hook}" returned ${isSignal(result) ? `${result.signal}(…)` : describeValue(result)}; it may return ${
            allowed.length ? allowed.map((s) => `${s}(reason)`).join(', ') : 'nothing'
          } (or undefined).`,
          { plugin: h.plugin, hook, time: { ...this.now() } },
        );
      }
      const entry = { plugin: h.plugin, hook, signal: result };
      raised.push(entry);
      onSignal?.(entry); // at once, so later handlers of this event see it (ctx.stopReason)
    }
    return raised;
  }

  /**
   * `emitIsolated`: the error path. Every handler runs in per-hook order; a handler that fails is
   * reported through `onFailure` and the rest still run. Signals are ignored (the fit is ending).
   */
  async emitIsolated<K extends keyof HookEvents>(
    hook: K,
    event: HookEvents[K],
    onFailure: (plugin: string, cause: unknown) => void,
  ): Promise<void> {
    for (const h of this.handlers.get(hook) ?? []) {
      try {
        await (h.fn as unknown as (ctx: TrainerContext, e: HookEvents[K]) => unknown)(h.ctx, event);
      } catch (cause) {
        onFailure(h.plugin, cause);
      }
    }
  }

  /** `transform`: a synchronous waterfall; each handler gets the previous value and returns the next. */
  transform<K extends TransformHookName>(
    hook: K,
    initial: TransformValue<K>,
    extra?: TransformExtra<K>,
  ): TransformValue<K> {
    const list = this.handlers.get(hook);
    if (!list) return initial;
    let value = initial;
    for (const h of list) {
      let next: unknown;
      try {
        next = (h.fn as unknown as (c: TrainerContext, v: unknown, e: unknown) => unknown)(
          h.ctx,
          value,
          extra,
        );
      } catch (cause) {
        throw wrapHookError(cause, h.plugin, hook, this.now());
      }
      checkStepHookResult(h.plugin, hook, next, this.now());
      value = next as TransformValue<K>;
    }
    return value;
  }

  /** `notify`: synchronous, in order; handlers return nothing (a signal or a Promise is refused). */
  notify<K extends NotifyHookName>(hook: K, event: NotifyEvent<K>): void {
    const list = this.handlers.get(hook);
    if (!list) return;
    for (const h of list) {
      let result: unknown;
      try {
        result = (h.fn as unknown as (c: TrainerContext, e: unknown) => unknown)(h.ctx, event);
      } catch (cause) {
        throw wrapHookError(cause, h.plugin, hook, this.now());
      }
      if (result !== undefined) refuseStepHookResult(h.plugin, hook, result, 'nothing', this.now());
    }
  }
}

/** Step hooks by dispatch kind (from the one table in `plugin.ts`). */
type TransformHookName = {
  [K in StepTransformName]: (typeof HOOK_KINDS)[K] extends 'transform' ? K : never;
}[StepTransformName];
type NotifyHookName = {
  [K in StepTransformName]: (typeof HOOK_KINDS)[K] extends 'notify' ? K : never;
}[StepTransformName];

const TRANSFORM_VALUE_NAMES: { readonly [K in TransformHookName]: string } = {
  transformBatch: 'batch ({ x, y })',
  transformLoss: 'loss scalar',
  transformGradients: 'gradient map (a Map of weight name → tensor)',
  transformStepGate:
    'gate (a bool scalar tensor: true applies the update; combine with tf.logicalAnd(gate, yours))',
};

/** What each step transform must hand on, checked once per handler call (cheap shape checks). */
const TRANSFORM_VALUE_OK: { readonly [K in TransformHookName]: (value: unknown) => boolean } = {
  transformBatch: (v) => typeof v === 'object' && v !== null && 'x' in v && 'y' in v,
  transformLoss: (v) => v instanceof tf.Tensor && v.rank === 0,
  transformGradients: (v) => v instanceof Map,
  transformStepGate: (v) => v instanceof tf.Tensor && v.rank === 0 && v.dtype === 'bool',
};

function checkStepHookResult<K extends TransformHookName>(
  plugin: string,
  hook: K,
  value: unknown,
  time: Time,
): void {
  if (TRANSFORM_VALUE_OK[hook](value) && !isSignal(value)) return;
  refuseStepHookResult(
    plugin,
    hook,
    value,
    `the ${TRANSFORM_VALUE_NAMES[hook]} (return the input unchanged to pass it on)`,
    time,
  );
}

/** A step hook returned a signal, a Promise or a value of the wrong kind: refused, naming plugin and hook. */
function refuseStepHookResult(
  plugin: string,
  hook: string,
  value: unknown,
  expected: string,
  time: Time,
): never {
  const details = { plugin, hook, time: { ...time } };
  if (isSignal(value)) {
    throw new TensorloopError(
      'TL_SIGNAL_INVALID',
      `[${plugin}] step hook "${hook}" returned ${value.signal}(…); step hooks run inside the step and cannot steer the loop. Return it from onBatchStart or onBatchEnd instead.`,
      details,
    );
  }
  throw new TensorloopError(
    'TL_PLUGIN_INVALID',
    `[${plugin}] step hook "${hook}" returned ${
      isPromiseLike(value)
        ? 'a Promise (step hooks are synchronous: no async, no await)'
        : describeValue(value)
    }; it must synchronously return ${expected}.`,
    details,
  );
}

type StepFn<K extends StepTransformName> = Extract<NonNullable<StepTransforms[K]>, AnyFn>;
type TransformValue<K extends StepTransformName> = Parameters<StepFn<K>>[1];
type TransformExtra<K extends StepTransformName> = Parameters<StepFn<K>>[2];
type NotifyEvent<K extends StepTransformName> = Parameters<StepFn<K>>[1];

function isHookKey(key: string): boolean {
  return key in HOOK_KINDS || /^on[A-Z]/.test(key) || key.includes(':') || /^transform[A-Z]/.test(key);
}

function isPromiseLike(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
