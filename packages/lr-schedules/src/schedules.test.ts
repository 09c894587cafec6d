// Each schedule against the reference project's own formula, written the way the reference writes
// it (PyTorch torch/optim/lr_scheduler.py, Keras optimizers/schedules/learning_rate_schedule.py,
// fastai callback/schedule.py, HF optimization.py), at ≥ 20 points, to 1e-9.
import { describe, expect, test } from 'vitest';
import {
  combine,
  constant,
  cosine,
  cosineWarmRestarts,
  cyclic,
  exponential,
  linear,
  multiStep,
  polynomial,
  type Schedule,
  step,
  timeBasedDecay,
  valueAt,
  warmup,
} from './schedules.js';

const TOL = 1e-9;

function expectClose(actual: number, expected: number, where: string): void {
  const scale = Math.max(1, Math.abs(expected));
  if (!(Math.abs(actual - expected) <= TOL * scale)) {
    throw new Error(`${where}: got ${actual}, reference ${expected}`);
  }
}

/** Compare a schedule with a reference at every index 0..total-1 (≥ 20 points). */
function againstReference(s: Schedule, total: number, reference: (t: number) => number): number {
  expect(total).toBeGreaterThanOrEqual(20);
  for (let t = 0; t < total; t++) expectClose(valueAt(s, t, total), reference(t), `index ${t}`);
  return total;
}

describe('schedules equal their reference formulas', () => {
  test('constant', () => {
    againstReference(constant(0.3), 25, () => 0.3);
  });

  test('linear = fastai SchedLin and PyTorch LinearLR', () => {
    // fastai: start + pos*(end-start), pos = t/total
    againstReference(linear({ from: 0.5, to: 0.01 }), 40, (t) => 0.5 + (t / 40) * (0.01 - 0.5));
    // PyTorch LinearLR closed form: base * (sf + (ef - sf) * min(T, t) / T)
    const base = 0.1;
    const sf = 1 / 3;
    const ef = 1;
    const T = 30;
    againstReference(
      linear({ from: base * sf, to: base * ef }),
      T,
      (t) => base * (sf + ((ef - sf) * Math.min(T, t)) / T),
    );
  });

  test('cosine = PyTorch CosineAnnealingLR (recursive form) and fastai SchedCos', () => {
    const base = 0.1;
    const etaMin = 0.001;
    const T = 50;
    // PyTorch's chainable (recursive) update, a different computation from our closed form.
    const torch: number[] = [base];
    for (let t = 1; t < T; t++) {
      const prev = torch[t - 1]!;
      if ((t - 1 - T) % (2 * T) === 0) {
        torch.push(prev + ((base - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
      } else {
        torch.push(
          ((1 + Math.cos((Math.PI * t) / T)) / (1 + Math.cos((Math.PI * (t - 1)) / T))) * (prev - etaMin) +
            etaMin,
        );
      }
    }
    againstReference(cosine({ from: base, to: etaMin }), T, (t) => torch[t]!);
    // fastai SchedCos
    againstReference(
      cosine({ from: 2, to: 0.01 }),
      30,
      (t) => 2 + ((1 + Math.cos(Math.PI * (1 - t / 30))) * (0.01 - 2)) / 2,
    );
  });

  test('exponential = fastai SchedExp, PyTorch ExponentialLR, Keras ExponentialDecay (plain and staircase)', () => {
    againstReference(exponential({ from: 1e-7, to: 10 }), 100, (t) => 1e-7 * (10 / 1e-7) ** (t / 100));
    // PyTorch ExponentialLR recursive: lr_t = lr_{t-1} * gamma
    let lr = 0.1;
    const torch = [lr];
    for (let t = 1; t < 30; t++) {
      lr *= 0.9;
      torch.push(lr);
    }
    againstReference(exponential({ from: 0.1, gamma: 0.9 }), 30, (t) => torch[t]!);
    // Keras: initial * decay_rate ^ (step / decay_steps), floor when staircase
    againstReference(exponential({ from: 0.01, gamma: 0.96, every: 7 }), 40, (t) => 0.01 * 0.96 ** (t / 7));
    againstReference(
      exponential({ from: 0.01, gamma: 0.96, every: 7, staircase: true }),
      40,
      (t) => 0.01 * 0.96 ** Math.floor(t / 7),
    );
  });

  test('polynomial = Keras PolynomialDecay and PyTorch PolynomialLR', () => {
    // Keras: (initial - end) * (1 - min(step, decay_steps)/decay_steps)^power + end
    againstReference(polynomial({ from: 0.1, to: 0.001, power: 2, steps: 25 }), 40, (t) => {
      const s = Math.min(t, 25);
      return (0.1 - 0.001) * (1 - s / 25) ** 2 + 0.001;
    });
    // PyTorch PolynomialLR recursive: lr *= ((1 - t/T) / (1 - (t-1)/T)) ** power, t ≤ T
    const T = 30;
    const power = 1.5;
    let lr = 0.2;
    const torch = [lr];
    for (let t = 1; t < T; t++) {
      lr = lr * ((1 - t / T) / (1 - (t - 1) / T)) ** power;
      torch.push(lr);
    }
    againstReference(polynomial({ from: 0.2, power }), T, (t) => torch[t]!);
  });

  test('step = PyTorch StepLR (recursive: multiply by gamma when t % step_size == 0)', () => {
    let lr = 0.05;
    const torch = [lr];
    for (let t = 1; t < 45; t++) {
      if (t % 10 === 0) lr *= 0.5;
      torch.push(lr);
    }
    againstReference(step({ from: 0.05, gamma: 0.5, every: 10 }), 45, (t) => torch[t]!);
  });

  test('multiStep = PyTorch MultiStepLR (bisect_right of milestones)', () => {
    const milestones = [5, 12, 12, 30];
    const bisectRight = (t: number) => milestones.filter((m) => m <= t).length;
    againstReference(multiStep({ from: 1, gamma: 0.3, milestones }), 40, (t) => 1 * 0.3 ** bisectRight(t));
  });

  test('timeBasedDecay = Keras InverseTimeDecay and legacy decay', () => {
    // Keras InverseTimeDecay: initial / (1 + decay_rate * step / decay_steps)
    againstReference(
      timeBasedDecay({ from: 0.1, decay: 0.5, every: 4 }),
      30,
      (t) => 0.1 / (1 + (0.5 * t) / 4),
    );
    againstReference(
      timeBasedDecay({ from: 0.1, decay: 0.5, every: 4, staircase: true }),
      30,
      (t) => 0.1 / (1 + 0.5 * Math.floor(t / 4)),
    );
    // Keras 2 legacy optimizer: lr * 1 / (1 + decay * iterations)
    againstReference(timeBasedDecay({ from: 0.01, decay: 1e-2 }), 25, (t) => 0.01 * (1 / (1 + 1e-2 * t)));
  });

  test('cosineWarmRestarts = PyTorch CosineAnnealingWarmRestarts (T_cur/T_i bookkeeping)', () => {
    // PyTorch step() without an epoch argument: T_cur += 1; when T_cur >= T_i: T_cur -= T_i, T_i *= T_mult
    const reference = (T0: number, Tmult: number, base: number, etaMin: number, n: number) => {
      const out: number[] = [];
      let tCur = 0;
      let tI = T0;
      for (let t = 0; t < n; t++) {
        out.push(etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * tCur) / tI))) / 2);
        tCur += 1;
        if (tCur >= tI) {
          tCur -= tI;
          tI *= Tmult;
        }
      }
      return out;
    };
    const one = reference(7, 1, 0.1, 0.001, 40);
    againstReference(cosineWarmRestarts({ from: 0.1, to: 0.001, t0: 7 }), 40, (t) => one[t]!);
    const two = reference(5, 2, 0.1, 0, 80);
    againstReference(cosineWarmRestarts({ from: 0.1, t0: 5, tMult: 2 }), 80, (t) => two[t]!);
    const three = reference(3, 3, 1, 0.1, 60);
    againstReference(cosineWarmRestarts({ from: 1, to: 0.1, t0: 3, tMult: 3 }), 60, (t) => three[t]!);
  });

  test('cyclic = PyTorch CyclicLR in its three modes', () => {
    const reference = (
      base: number,
      max: number,
      up: number,
      down: number,
      mode: 'triangular' | 'triangular2' | 'expRange',
      gamma: number,
    ) => {
      const total = up + down;
      const ratio = up / total;
      return (it: number) => {
        const cycle = Math.floor(1 + it / total);
        const x = 1.0 + it / total - cycle;
        const scale = x <= ratio ? x / ratio : (x - 1) / (ratio - 1);
        const height = (max - base) * scale;
        if (mode === 'triangular') return base + height;
        if (mode === 'triangular2') return base + height * (1 / 2.0 ** (cycle - 1));
        return base + height * gamma ** it;
      };
    };
    againstReference(
      cyclic({ base: 0.001, max: 0.1, stepSizeUp: 4 }),
      30,
      reference(0.001, 0.1, 4, 4, 'triangular', 1),
    );
    againstReference(
      cyclic({ base: 0.001, max: 0.1, stepSizeUp: 3, stepSizeDown: 5, mode: 'triangular2' }),
      50,
      reference(0.001, 0.1, 3, 5, 'triangular2', 1),
    );
    againstReference(
      cyclic({ base: 0.01, max: 0.1, stepSizeUp: 5, mode: 'expRange', gamma: 0.97 }),
      50,
      reference(0.01, 0.1, 5, 5, 'expRange', 0.97),
    );
  });

  test('warmup(cosine multiplier) = HF get_cosine_schedule_with_warmup; warmup by fraction', () => {
    const W = 6;
    const N = 40;
    // HF: step < W: step / max(1, W); else 0.5 * (1 + cos(pi * progress)), progress = (step - W) / (N - W)
    const hf = (s: number) =>
      s < W ? s / Math.max(1, W) : Math.max(0, 0.5 * (1 + Math.cos(Math.PI * ((s - W) / (N - W)))));
    againstReference(warmup(cosine({ from: 1, to: 0 }), { steps: W }), N, hf);
    // HF get_linear_schedule_with_warmup: max(0, (N - s) / max(1, N - W)) after warmup
    const hfLinear = (s: number) => (s < 8 ? s / 8 : Math.max(0, (N - s) / Math.max(1, N - 8)));
    againstReference(warmup(linear({ from: 1, to: 0 }), { fraction: 0.2 }), N, hfLinear);
  });

  test('combine = fastai combine_scheds (and fit_one_cycle shape)', () => {
    const schedLin = (a: number, b: number) => (pos: number) => a + pos * (b - a);
    const schedCos = (a: number, b: number) => (pos: number) =>
      a + ((1 + Math.cos(Math.PI * (1 - pos))) * (b - a)) / 2;
    const fastai = (pcts: number[], scheds: ((pos: number) => number)[]) => {
      const edges = [0];
      for (const p of pcts) edges.push(edges[edges.length - 1]! + p);
      return (pos: number) => {
        if (Math.trunc(pos) === 1) return scheds[scheds.length - 1]!(1);
        let idx = 0;
        edges.forEach((e, i) => {
          if (pos >= e) idx = i;
        });
        return scheds[idx]!((pos - edges[idx]!) / (edges[idx + 1]! - edges[idx]!));
      };
    };
    const ref = fastai([0.3, 0.7], [schedCos(0.3, 0.6), schedCos(0.6, 0.2)]);
    againstReference(
      combine([0.3, 0.7], [cosine({ from: 0.3, to: 0.6 }), cosine({ from: 0.6, to: 0.2 })]),
      50,
      (t) => ref(t / 50),
    );
    const ref3 = fastai([0.1, 0.5, 0.4], [schedLin(0, 1), schedCos(1, 0.5), schedLin(0.5, 0.5)]);
    againstReference(
      combine([0.1, 0.5, 0.4], [linear({ from: 0, to: 1 }), cosine({ from: 1, to: 0.5 }), constant(0.5)]),
      60,
      (t) => ref3(t / 60),
    );
    expect(
      combine([0.3, 0.7], [cosine({ from: 0.3, to: 0.6 }), cosine({ from: 0.6, to: 0.2 })])(1, {
        index: 50,
        total: 50,
      }),
    ).toBeCloseTo(0.2, 12);
  });
});

describe('schedule options are checked', () => {
  test('bad options fail with TL_SCHEDULE_INVALID and say what is expected', () => {
    expect(() => combine([0.5, 0.6], [constant(1), constant(2)])).toThrow(/TL_SCHEDULE_INVALID.*sum to 1/);
    expect(() => step({ from: 1, every: 0 })).toThrow(/every\b.*> 0/);
    expect(() => exponential({ from: 0, to: 1 })).toThrow(/positive/);
    expect(() => multiStep({ from: 1, milestones: [5, 2] })).toThrow(/increase/);
    expect(() => cosineWarmRestarts({ from: 1, t0: 5, tMult: 1.5 })).toThrow(/integer/);
    expect(() => warmup(constant(1), { steps: 3, fraction: 0.1 } as never)).toThrow(/exactly one/);
  });

  test('hand-checked values', () => {
    expect(valueAt(cosine({ from: 1, to: 0 }), 5, 10)).toBeCloseTo(0.5, 15);
    expect(valueAt(step({ from: 1, every: 30 }), 60, 90)).toBeCloseTo(0.01, 15);
    expect(valueAt(cyclic({ base: 0, max: 1, stepSizeUp: 2 }), 1, 10)).toBeCloseTo(0.5, 15);
    expect(valueAt(warmup(constant(2), { steps: 4 }), 1, 10)).toBeCloseTo(0.5, 15);
  });
});
