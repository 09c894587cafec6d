import type { HyperparamAccess, HyperparamWriteDeclaration, Plugin, TrainerContext } from '@tensorloop/core';

/** One `ctx.hparams.set` call of the plugin under test. */
export interface HparamWrite {
  /** The kit run it happened in (`main`, `stop`, `refit`, ...). */
  readonly run: string;
  readonly name: string;
  readonly group: string | undefined;
  readonly hook: string;
  readonly epoch: number;
  readonly step: number;
  /** The plugin that had stopped the fit when this write happened, if any. */
  readonly afterStopBy: string | undefined;
  /** Not covered by the plugin's `hparams` declarations (core refuses it). */
  readonly undeclared: boolean;
  /** Set when core refused the write: its message. */
  readonly refused: string | undefined;
}

/** Time spent in one hook of the plugin under test. */
export interface HookTiming {
  readonly hook: string;
  readonly calls: number;
  readonly totalMs: number;
  readonly meanMs: number;
  readonly maxMs: number;
}

const isHookKey = (key: string): boolean =>
  /^on[A-Z]/.test(key) || /^transform[A-Z]/.test(key) || key === 'afterOptimizerStep' || key.includes(':');

const isPromiseLike = (v: unknown): v is PromiseLike<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';

/** Whether a declaration covers a write of `name` in `group` (no group: every group it covers). */
export function declares(
  declarations: readonly HyperparamWriteDeclaration[] | undefined,
  name: string,
  group: string | undefined,
): boolean {
  return (declarations ?? []).some(
    (d) => d.name === name && (group === undefined || d.groups === undefined || d.groups.includes(group)),
  );
}

/**
 * Watches the plugin under test from the outside: every hook is wrapped (time spent, which hook is
 * running) and its context's `hparams.set` records each write before core sees it. The wrapped
 * plugin behaves exactly as the original; state and API are the original's.
 */
export class Instrument {
  readonly writes: HparamWrite[] = [];
  private readonly timings = new Map<string, { calls: number; total: number; max: number }>();
  private readonly contexts = new WeakMap<TrainerContext, TrainerContext>();
  private current: string | undefined;

  constructor(readonly label: string) {}

  wrap(plugin: Plugin): Plugin {
    const wrapped: Record<string, unknown> = {};
    for (const key of Object.keys(plugin)) {
      const value = (plugin as unknown as Record<string, unknown>)[key];
      if (isHookKey(key) && value !== undefined) {
        wrapped[key] =
          typeof value === 'function'
            ? this.hook(key, value as HookFn, plugin)
            : {
                ...(value as object),
                handler: this.hook(key, (value as { handler: HookFn }).handler, plugin),
              };
      } else if (typeof value === 'function') {
        wrapped[key] = (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(plugin, args);
      } else {
        wrapped[key] = value;
      }
    }
    return wrapped as unknown as Plugin;
  }

  /** Hook timings, slowest mean first. */
  hookTimings(): HookTiming[] {
    return [...this.timings]
      .map(([hook, t]) => ({
        hook,
        calls: t.calls,
        totalMs: t.total,
        meanMs: t.total / t.calls,
        maxMs: t.max,
      }))
      .sort((a, b) => b.meanMs - a.meanMs);
  }

  private record(hook: string, ms: number): void {
    const t = this.timings.get(hook) ?? { calls: 0, total: 0, max: 0 };
    t.calls += 1;
    t.total += ms;
    t.max = Math.max(t.max, ms);
    this.timings.set(hook, t);
  }

  private hook(key: string, fn: HookFn, plugin: Plugin): HookFn {
    return (ctx, ...rest) => {
      const outer = this.current;
      this.current = key;
      const start = performance.now();
      const done = () => {
        this.record(key, performance.now() - start);
        this.current = outer;
      };
      let result: unknown;
      try {
        result = fn.call(plugin, this.watched(ctx, plugin), ...rest);
      } catch (error) {
        done();
        throw error;
      }
      if (!isPromiseLike(result)) {
        done();
        return result;
      }
      // The hook stays "current" until its promise settles (its awaited writes are attributed to it).
      return Promise.resolve(result).finally(done);
    };
  }

  /** The plugin's context with `hparams.set` recorded. */
  private watched(ctx: TrainerContext, plugin: Plugin): TrainerContext {
    let view = this.contexts.get(ctx);
    if (view) return view;
    const hparams: HyperparamAccess = {
      ...ctx.hparams,
      set: (name, value, options) => {
        const group = options?.group;
        const write = {
          run: this.label,
          name,
          group,
          hook: this.current ?? 'unknown',
          epoch: ctx.time.epoch,
          step: ctx.time.step,
          afterStopBy: ctx.stopReason && ctx.stopReason.by !== plugin.name ? ctx.stopReason.by : undefined,
          undeclared: !declares(plugin.hparams, name, group),
        };
        try {
          ctx.hparams.set(name, value, options);
          this.writes.push({ ...write, refused: undefined });
        } catch (error) {
          this.writes.push({ ...write, refused: (error as Error)?.message ?? String(error) });
          throw error;
        }
      },
    };
    view = Object.create(ctx, { hparams: { value: hparams, enumerable: true } }) as TrainerContext;
    this.contexts.set(ctx, view);
    return view;
  }
}

type HookFn = (ctx: TrainerContext, ...rest: unknown[]) => unknown;
