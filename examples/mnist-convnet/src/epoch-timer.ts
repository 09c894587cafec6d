/**
 * A tfjs callback that times epochs: passed as `callbacks` to `model.fit` and to tensorloop's
 * `fit` alike (through its tfjs-callbacks bridge), so both runs are measured by the same code.
 */
export function epochTimer(): { readonly ms: number[]; onEpochBegin(): void; onEpochEnd(): void } {
  let start = 0;
  const ms: number[] = [];
  return {
    ms,
    onEpochBegin() {
      start = performance.now();
    },
    onEpochEnd() {
      ms.push(performance.now() - start);
    },
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
