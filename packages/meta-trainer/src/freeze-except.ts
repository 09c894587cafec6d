import {
  definePlugin,
  describeValue,
  type ParamMatcher,
  type Plugin,
  readState,
  TensorloopError,
} from '@tensorloop/core';
import { META_TRAINER } from './names.js';

export const FREEZE_EXCEPT = `${META_TRAINER}:freeze-except` as const;

export interface FreezeExceptOptions {
  /** Unfreeze what it froze when the stage ends. Default true. */
  readonly restore?: boolean;
  /** Plugin name, for several instances. Default `'@tensorloop/meta-trainer:freeze-except'`. */
  readonly name?: string;
}

/** What it writes into checkpoints: the weights it froze (and will unfreeze). */
export interface FreezeExceptState {
  readonly frozen: readonly string[];
}

function matcherOf(pattern: ParamMatcher): (name: string) => boolean {
  if (pattern instanceof RegExp)
    return (name) => new RegExp(pattern.source, pattern.flags.replace('g', '')).test(name);
  if (typeof pattern === 'function') return pattern;
  if (typeof pattern === 'string') {
    let re: RegExp | undefined;
    try {
      re = new RegExp(pattern);
    } catch {
      re = undefined;
    }
    return (name) => name === pattern || (re?.test(name) ?? false);
  }
  throw new TensorloopError(
    'TL_OPTION_INVALID',
    `[${FREEZE_EXCEPT}] the pattern must be a RegExp, a string or (name) => boolean; got ${describeValue(pattern)}.`,
    { plugin: FREEZE_EXCEPT },
  );
}

/**
 * A stage plugin: at the stage's start, freeze every trainable weight whose name does not match
 * `keep` ("freeze all but the classifier in stage 1": `freezeExcept(/^classifier\//)`); at its end,
 * unfreeze what it froze. Frozen BatchNorm layers run in inference mode (core's freezing).
 */
export function freezeExcept(
  keep: ParamMatcher,
  options: FreezeExceptOptions = {},
): Plugin<typeof FREEZE_EXCEPT> {
  const keeps = matcherOf(keep);
  const name = (options.name ?? FREEZE_EXCEPT) as typeof FREEZE_EXCEPT;
  const restore = options.restore ?? true;
  let frozen: string[] = [];
  return definePlugin({
    name,
    'meta:stageStart'(ctx, event) {
      if (event.resumed) return; // the checkpoint brought back the frozen set and this list
      const params = ctx.parameters();
      if (!params.some((p) => keeps(p.name))) {
        throw new TensorloopError(
          'TL_OPTION_INVALID',
          `[${name}] ${describeValue(keep)} matches no weight, so it would freeze the whole model. Weight names look like: ${params
            .slice(0, 6)
            .map((p) => p.name)
            .join(', ')} (see trainer.parameters()).`,
          { plugin: name },
        );
      }
      const toFreeze = params.filter((p) => p.trainable && !keeps(p.name)).map((p) => p.name);
      const set = new Set(toFreeze);
      frozen = toFreeze.length > 0 ? ctx.freeze((n) => set.has(n)) : [];
      ctx.logger.debug(
        `froze ${frozen.length} weights for stage ${event.stage}, keeping ${String(keep)} trainable`,
      );
    },
    'meta:stageEnd'(ctx) {
      if (restore && frozen.length > 0) {
        const set = new Set(frozen);
        ctx.unfreeze((n) => set.has(n));
      }
      frozen = [];
    },
    state: () => ({ frozen: [...frozen] }),
    parseState: (saved) => {
      readState(saved, name); // an object, or TL_CHECKPOINT_INVALID naming the plugin
      return { frozen: parseFrozen(saved, name) };
    },
    loadState: (state) => {
      frozen = [...state.frozen];
    },
  });
}

function parseFrozen(saved: unknown, plugin: string): string[] {
  const list = (saved as { frozen?: unknown }).frozen;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw new TensorloopError(
      'TL_CHECKPOINT_INVALID',
      `[${plugin}] the checkpoint's state.frozen must be an array of weight names; got ${JSON.stringify(list)?.slice(0, 60)}.`,
      { plugin },
    );
  }
  return [...list];
}
