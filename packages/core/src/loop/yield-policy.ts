/**
 * When the fit loop hands the thread back to the event loop (`Trainer({ yield })`).
 *
 * A fit awaits its hooks, but awaited promises are microtasks: the browser neither repaints nor
 * handles input until the whole fit returns. tfjs's `model.fit` yields through
 * `requestAnimationFrame`, which browsers pause in hidden tabs, so training stops there. This policy
 * yields a macrotask instead, through a `MessageChannel` (not throttled in hidden tabs, unlike
 * `setTimeout`, which background tabs clamp to 1 s), at most every `everyMs` of training.
 */
import { TensorloopError } from '../errors.js';

/**
 * `'auto'` (default): in a browser or worker, yield at most every 16 ms of training (a frame at
 * 60 Hz); in Node.js never. `'never'`: never yield. `{ everyMs }`: yield at most every `everyMs`
 * milliseconds, everywhere.
 */
export type YieldOption = 'auto' | 'never' | { readonly everyMs: number };

export const AUTO_YIELD_MS = 16;

export interface YieldPolicy {
  /** Milliseconds of training between yields, or undefined when it never yields. */
  readonly everyMs: number | undefined;
  /** How many times it has yielded. */
  readonly yields: number;
  /** A promise to await when a yield is due, otherwise undefined (no microtask spent). */
  due(): Promise<void> | undefined;
}

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof p?.versions?.node === 'string';
}

export function checkYieldOption(value: unknown): YieldOption {
  if (value === undefined) return 'auto';
  if (value === 'auto' || value === 'never') return value;
  const everyMs = (value as { everyMs?: unknown } | null)?.everyMs;
  if (typeof value === 'object' && typeof everyMs === 'number' && everyMs >= 0 && Number.isFinite(everyMs)) {
    return { everyMs };
  }
  throw new TensorloopError(
    'TL_OPTION_INVALID',
    `yield must be 'auto', 'never' or { everyMs: <milliseconds ≥ 0> }; got ${JSON.stringify(value)}. ` +
      "Use 'auto' to keep a page responsive while it trains.",
  );
}

/** A macrotask: a MessageChannel message where there is one, else `setTimeout(0)`. */
function macrotaskScheduler(): () => Promise<void> {
  const Channel = (globalThis as { MessageChannel?: typeof MessageChannel }).MessageChannel;
  if (Channel === undefined || isNode()) {
    // Node's MessageChannel keeps the process alive while a port is open; setImmediate is its macrotask.
    const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
    return () => new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));
  }
  let channel: MessageChannel | undefined;
  const waiting: (() => void)[] = [];
  return () =>
    new Promise<void>((resolve) => {
      if (channel === undefined) {
        channel = new Channel();
        channel.port1.onmessage = () => waiting.shift()?.();
      }
      waiting.push(resolve);
      channel.port2.postMessage(0);
    });
}

export function createYieldPolicy(option: YieldOption, inNode: boolean = isNode()): YieldPolicy {
  const everyMs =
    option === 'never'
      ? undefined
      : option === 'auto'
        ? inNode
          ? undefined
          : AUTO_YIELD_MS
        : option.everyMs;
  const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
  const macrotask = everyMs === undefined ? undefined : macrotaskScheduler();
  let last = now();
  let yields = 0;
  return {
    everyMs,
    get yields() {
      return yields;
    },
    due() {
      if (macrotask === undefined || now() - last < everyMs!) return undefined;
      yields += 1;
      return macrotask().then(() => {
        last = now();
      });
    },
  };
}
