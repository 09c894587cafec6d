/** A learning rate suggested from a range test, with the point of the curve it came from. */
export interface LrSuggestion {
  readonly lr: number;
  readonly loss: number;
  /** Index into the (trimmed) curve. */
  readonly index: number;
}

export interface LrSuggestions {
  /** Where the steepest fall of the smoothed loss against log(lr) starts (fastai `steep`). */
  readonly steepest: LrSuggestion;
  /** About two thirds down the longest descending stretch (fastai `valley`, the default pick). */
  readonly valley: LrSuggestion;
  /** A tenth of the lr with the lowest loss (fastai `minimum`). */
  readonly minimum: LrSuggestion;
}

/**
 * fastai's trimming before suggesting: drop the first `steps/10` points (the loss is still
 * settling) and the last 5 (the explosion). Short curves are kept whole.
 */
export function trimCurve(
  lrs: readonly number[],
  losses: readonly number[],
  steps: number,
): { lrs: number[]; losses: number[] } {
  const start = Math.floor(steps / 10);
  const end = lrs.length - 5;
  if (end - start < 3) return { lrs: [...lrs], losses: [...losses] };
  return { lrs: lrs.slice(start, end), losses: losses.slice(start, end) };
}

/**
 * fastai `steep`: `lrs[argmin(grads)]`, the lr where the most negative slope of loss over log(lr)
 * starts (the first point of the steepest segment; ties keep the first, as `argmin`).
 */
export function steepest(lrs: readonly number[], losses: readonly number[]): LrSuggestion {
  let best = 0;
  let slope = Number.POSITIVE_INFINITY;
  for (let i = 0; i + 1 < losses.length; i++) {
    const s = (losses[i + 1]! - losses[i]!) / (Math.log(lrs[i + 1]!) - Math.log(lrs[i]!));
    if (s < slope) {
      slope = s;
      best = i;
    }
  }
  return { lr: lrs[best]!, loss: losses[best]!, index: best };
}

/** fastai `valley` (ESRI): the longest decreasing subsequence, then a point ~2/3 into it. */
export function valley(lrs: readonly number[], losses: readonly number[]): LrSuggestion {
  const n = losses.length;
  const lengths = new Array<number>(n).fill(1);
  let maxStart = 0;
  let maxEnd = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i]! < losses[j]! && lengths[i]! < lengths[j]! + 1) lengths[i] = lengths[j]! + 1;
      if (lengths[maxEnd]! < lengths[i]!) {
        maxEnd = i;
        maxStart = maxEnd - lengths[maxEnd]!;
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  const index = Math.max(0, Math.min(n - 1, maxStart + Math.trunc(sections) + Math.trunc(sections / 2)));
  return { lr: lrs[index]!, loss: losses[index]!, index };
}

/** fastai `minimum`: the lr at the lowest loss, divided by 10. */
export function minimum(lrs: readonly number[], losses: readonly number[]): LrSuggestion {
  let index = 0;
  for (let i = 1; i < losses.length; i++) if (losses[i]! < losses[index]!) index = i;
  return { lr: lrs[index]! / 10, loss: losses[index]!, index };
}

export function suggest(lrs: readonly number[], losses: readonly number[], steps: number): LrSuggestions {
  const trimmed = trimCurve(lrs, losses, steps);
  return {
    steepest: steepest(trimmed.lrs, trimmed.losses),
    valley: valley(trimmed.lrs, trimmed.losses),
    minimum: minimum(trimmed.lrs, trimmed.losses),
  };
}
