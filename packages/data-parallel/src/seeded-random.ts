/**
 * `Math.random` as mulberry32 seeded with `seed` for the duration of `fn`, as core does for a step
 * (core's `loop/step-random.ts`): tfjs's unseeded random ops (Dropout) seed themselves from it, so a
 * worker's masks are a function of the trainer's seed and the batch.
 */
export function withSeededMathRandom<T>(seed: number, fn: () => T): T {
  const original = Math.random;
  let state = seed >>> 0;
  Math.random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}
