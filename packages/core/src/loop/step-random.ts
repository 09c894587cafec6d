/**
 * Randomness inside a training step as a function of the trainer's seeded state (DESIGN §9: resume ≡
 * uninterrupted). tfjs's random ops without a seed (Dropout, SpatialDropout, GaussianNoise,
 * GaussianDropout, AlphaDropout, and any custom layer calling `tf.randomUniform`/`randomNormal`)
 * seed themselves from `Math.random()`. The step is synchronous, so for its duration `Math.random`
 * is a generator seeded from the trainer's seed and the batch counter: the same seed gives the same
 * masks, and a resumed run draws the masks the uninterrupted run drew.
 */

/** A 32-bit seed for the step that consumes global micro-batch `batch` (a splitmix32-style mix). */
export function stepSeed(trainerSeed: number, batch: number): number {
  let h = (Math.imul(trainerSeed | 0, 0x9e3779b1) ^ Math.imul(batch | 0, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Run `fn` (synchronous) with `Math.random` replaced by mulberry32 seeded with `seed`. */
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
