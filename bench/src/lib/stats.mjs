// Statistics and the interleaved repetition runner shared by the benchmarks.

export function median(values) {
  return quantile(values, 0.5);
}

/** Linear-interpolated quantile (q in [0, 1]) of a list of numbers. */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/** Least-squares line y = intercept + slope·x, with R². */
export function linearFit(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const intercept = my - slope * mx;
  const r2 = syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
  return { slope, intercept, r2 };
}

/** Summary of a list of timings (ms). */
export function summarize(values) {
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    // Interquartile range relative to the median: the spread a reader should trust the ratios to.
    relIqr: (quantile(values, 0.75) - quantile(values, 0.25)) / median(values),
    runs: values,
  };
}

function collectGarbage() {
  if (typeof globalThis.gc === 'function') globalThis.gc();
}

/** CPU time (user + system, all threads of this process) in ms. */
function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Runs every variant `warmup` times, then `reps` rounds in which each variant runs once. The order
 * rotates every round so no variant always follows the same one (GC debt, caches), and a slow spell
 * of the shared machine hits all variants of that round alike. Each `run()` times itself (so set-up
 * stays outside the measurement) and returns wall milliseconds; the process CPU time of the call is
 * recorded too, because on a shared machine wall time also counts time the process waited for a core.
 *
 * Returns `{ wall: { [variant]: ms[] }, cpu: { [variant]: ms[] } }`, in round order (rounds pair up).
 */
export async function interleave(variants, { reps, warmup, label = '', log = () => {} }) {
  for (const v of variants) {
    for (let i = 0; i < warmup; i++) {
      collectGarbage();
      await v.run();
    }
  }
  const wall = Object.fromEntries(variants.map((v) => [v.name, []]));
  const cpu = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + r) % variants.length];
      collectGarbage();
      const before = cpuMs();
      wall[v.name].push(await v.run());
      cpu[v.name].push(cpuMs() - before);
    }
    log(`${label} round ${r + 1}/${reps}`);
  }
  return { wall, cpu };
}

/** Median over rounds of a/b, pairing round i of a with round i of b. */
export function pairedRatio(a, b) {
  const n = Math.min(a.length, b.length);
  const ratios = [];
  for (let i = 0; i < n; i++) ratios.push(a[i] / b[i]);
  return median(ratios);
}
