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

describe('combine gives every phase exact integer indices and totals (PyTorch SequentialLR)', () => {
  test('test_sequentiallr3: ConstantLR → ExponentialLR → StepLR(γ 0.1, every 2), milestones [3, 6], 12 epochs', () => {
    // PyTorch test/optim/test_lrscheduler.py test_sequentiallr3 (base lr 0.05): the targets as written there.
    const targets = [0.005, 0.005, 0.005, 0.05, 0.04, 0.032, 0.05, 0.05, 0.005, 0.005, 0.0005, 0.0005];
    const s = combine(
      [3 / 12, 3 / 12, 6 / 12],
      [constant(0.005), exponential({ from: 0.05, gamma: 0.8 }), step({ from: 0.05, gamma: 0.1, every: 2 })],
    );
    targets.forEach((t, i) => {
      expectClose(valueAt(s, i, 12), t, `epoch ${i}`);
    });
  });

  test('test_sequentiallr1 and test_sequentiallr2: phase lengths that are not a round fraction of the span', () => {
    // test_sequentiallr1: ExponentialLR(0.8) → StepLR(0.1, every 4), milestones [3], 19 epochs
    const t1 = [0.05, 0.04, 0.032, ...[0.05, 0.005, 0.0005, 0.00005].flatMap((v) => [v, v, v, v])];
    const s1 = combine(
      [3 / 19, 16 / 19],
      [exponential({ from: 0.05, gamma: 0.8 }), step({ from: 0.05, gamma: 0.1, every: 4 })],
    );
    t1.forEach((t, i) => {
      expectClose(valueAt(s1, i, 19), t, `sequentiallr1 epoch ${i}`);
    });
    // test_sequentiallr2: ConstantLR(0.1, 3 iters) → ExponentialLR(0.9), milestones [3], 13 epochs
    const t2 = [0.005, 0.005, 0.005, ...Array.from({ length: 10 }, (_, x) => 0.05 * 0.9 ** x)];
    const s2 = combine([3 / 13, 10 / 13], [constant(0.005), exponential({ from: 0.05, gamma: 0.9 })]);
    t2.forEach((t, i) => {
      expectClose(valueAt(s2, i, 13), t, `sequentiallr2 epoch ${i}`);
    });
  });

  test('multiStep and cyclic inside combine count from the phase start, in whole units', () => {
    // SequentialLR([ConstantLR(0.1, 3 iters), MultiStepLR([2, 5], γ 0.5)], milestones [3]), base 0.05, 13 epochs,
    // as torch 2.13 gives it.
    const ms = [0.005, 0.005, 0.005, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125, 0.0125, 0.0125];
    const s = combine(
      [3 / 13, 10 / 13],
      [constant(0.005), multiStep({ from: 0.05, gamma: 0.5, milestones: [2, 5] })],
    );
    ms.forEach((t, i) => {
      expectClose(valueAt(s, i, 13), t, `multiStep epoch ${i}`);
    });
    // triangular cycle of 2 + 2 units after a 5-unit phase of 35: the cycle restarts on the phase's own index
    const c = combine([5 / 35, 30 / 35], [constant(1), cyclic({ base: 0, max: 1, stepSizeUp: 2 })]);
    const tri = [0, 0.5, 1, 0.5];
    for (let i = 5; i < 35; i++) expectClose(valueAt(c, i, 35), tri[(i - 5) % 4]!, `cyclic index ${i}`);
  });

  test('a phase sees integer indices and an integer total, whatever the fractions', () => {
    const seen: { index: number; total: number }[] = [];
    const spy: Schedule = (_p, span) => {
      seen.push(span);
      return 0;
    };
    for (const total of [7, 10, 12, 19, 100, 1000]) {
      const s = combine([0.1, 0.3, 0.6], [spy, spy, spy]);
      for (let i = 0; i < total; i++) valueAt(s, i, total);
    }
    expect(seen.length).toBeGreaterThan(1000);
    for (const span of seen) {
      expect(Number.isInteger(span.index) && Number.isInteger(span.total)).toBe(true);
    }
  });
});

describe('documented differences', () => {
  test('fastai fit_one_cycle is combine([0.25, 0.75], two cosines) over a step schedule', () => {
    // fastai callback/schedule.py fit_one_cycle(4, lr_max=0.01) on 5 batches per epoch (defaults: div 25,
    // div_final 1e5, pct_start 0.25, moms (0.95, 0.85, 0.95)): combined_cos = combine_scheds of two SchedCos,
    // read at pct_train (summed 1/20 per batch by TrainEvalCallback). Values from that code run with torch
    // (float32 pcts, as fastai's tensor() makes them), hence the 2e-6 tolerance.
    const fastaiLr = [
      0.0004, 0.0013167184534158176, 0.003716718512482818, 0.00668328191493, 0.009083281678662004, 0.01,
      0.009890739036269117, 0.009567731661714858, 0.009045094493509081, 0.008345669760804088,
      0.007500024864862766, 0.006545119431981571, 0.005522686593312814, 0.004477413406687184,
      0.0034549810132356723, 0.0025000747297255392, 0.0016544302391959132, 0.0009550053689112315,
      0.0004323687190957229, 0.00010936089073374129,
    ];
    const fastaiMom = [
      0.95, 0.9404508494435851, 0.915450848828304, 0.8845491467194792, 0.8595491491806041, 0.85,
      0.8510926205635144, 0.8543227266101175, 0.8595491505564148, 0.8665434678266374, 0.8750000013513858,
      0.884549151171696, 0.8947735818026898, 0.9052264181973101, 0.915450844376087, 0.9250000027027716,
      0.9334565321733626, 0.9404508508193958, 0.9456772695817386, 0.9489073801664643,
    ];
    const lrMax = 0.01;
    const lr = combine(
      [0.25, 0.75],
      [cosine({ from: lrMax / 25, to: lrMax }), cosine({ from: lrMax, to: lrMax / 1e5 })],
    );
    const mom = combine([0.25, 0.75], [cosine({ from: 0.95, to: 0.85 }), cosine({ from: 0.85, to: 0.95 })]);
    for (let i = 0; i < 20; i++) {
      expect(Math.abs(valueAt(lr, i, 20) / fastaiLr[i]! - 1)).toBeLessThan(2e-6);
      expect(Math.abs(valueAt(mom, i, 20) - fastaiMom[i]!)).toBeLessThan(2e-6);
    }
  });

  test('cosine holds at `to` past its span (PyTorch CosineAnnealingLR closed form rises again)', () => {
    const s = cosine({ from: 0.1, to: 0.001 });
    const torchClosedForm = (t: number) => 0.001 + ((0.1 - 0.001) * (1 + Math.cos((Math.PI * t) / 10))) / 2;
    expect(valueAt(s, 10, 10)).toBeCloseTo(0.001, 15);
    expect(valueAt(s, 15, 10)).toBeCloseTo(0.001, 15);
    expect(torchClosedForm(15)).toBeCloseTo(0.0505, 12);
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

  test('unknown option keys fail with TL_OPTION_INVALID naming the closest valid key', () => {
    const cases: [() => unknown, string, string][] = [
      [() => cosine({ from: 1, too: 0 } as never), 'too', 'to'],
      [() => step({ from: 1, every: 2, gama: 0.5 } as never), 'gama', 'gamma'],
      [() => exponential({ from: 1, gamma: 0.9, staircas: true } as never), 'staircas', 'staircase'],
      [() => cyclic({ base: 0, max: 1, step_size_up: 4 } as never), 'step_size_up', 'stepSizeUp'],
      [() => polynomial({ from: 1, pow: 2 } as never), 'pow', 'power'],
      [() => multiStep({ from: 1, milestone: [2] } as never), 'milestone', 'milestones'],
      [() => cosineWarmRestarts({ from: 1, t0: 3, t_mult: 2 } as never), 't_mult', 'tMult'],
      [() => timeBasedDecay({ from: 1, decay: 1, evry: 2 } as never), 'evry', 'every'],
      [() => linear({ fron: 1, to: 0 } as never), 'fron', 'from'],
      [() => warmup(constant(1), { steps: 2 }, { start: 0.1 } as never), 'start', 'startFactor'],
    ];
    for (const [make, bad, closest] of cases) {
      let error: unknown;
      try {
        make();
      } catch (e) {
        error = e;
      }
      expect((error as { code?: string })?.code, bad).toBe('TL_OPTION_INVALID');
      expect((error as Error).message).toContain(`unknown option "${bad}"; did you mean "${closest}"?`);
    }
  });

  test('hand-checked values', () => {
    expect(valueAt(cosine({ from: 1, to: 0 }), 5, 10)).toBeCloseTo(0.5, 15);
    expect(valueAt(step({ from: 1, every: 30 }), 60, 90)).toBeCloseTo(0.01, 15);
    expect(valueAt(cyclic({ base: 0, max: 1, stepSizeUp: 2 }), 1, 10)).toBeCloseTo(0.5, 15);
    expect(valueAt(warmup(constant(2), { steps: 4 }), 1, 10)).toBeCloseTo(0.5, 15);
  });
});
