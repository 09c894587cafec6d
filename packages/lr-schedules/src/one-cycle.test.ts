import * as tf from '@tensorflow/tfjs';
import { adam, rmsprop, sgd, Trainer } from '@tensorloop/core';
import { beforeAll, describe, expect, test } from 'vitest';
import { oneCycle, oneCycleLr, oneCycleMomentum } from './one-cycle.js';
import { valueAt } from './schedules.js';
import { classificationData, stepRecorder, tinyClassifier } from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * An independent transcription of PyTorch `OneCycleLR.get_lr()` (three_phase=False): the phase
 * table and the loop over phases, as torch/optim/lr_scheduler.py writes them.
 */
function torchOneCycle(o: {
  maxLr: number;
  totalSteps: number;
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  divFactor?: number;
  finalDivFactor?: number;
  baseMomentum?: number;
  maxMomentum?: number;
}): (step: number) => { lr: number; momentum: number } {
  const pct = o.pctStart ?? 0.3;
  const initialLr = o.maxLr / (o.divFactor ?? 25);
  const minLr = initialLr / (o.finalDivFactor ?? 1e4);
  const base = o.baseMomentum ?? 0.85;
  const max = o.maxMomentum ?? 0.95;
  const anneal =
    (o.annealStrategy ?? 'cos') === 'cos'
      ? (start: number, end: number, p: number) => end + ((start - end) / 2.0) * (Math.cos(Math.PI * p) + 1)
      : (start: number, end: number, p: number) => (end - start) * p + start;
  const phases = [
    { endStep: pct * o.totalSteps - 1, startLr: initialLr, endLr: o.maxLr, startM: max, endM: base },
    { endStep: o.totalSteps - 1, startLr: o.maxLr, endLr: minLr, startM: base, endM: max },
  ];
  return (stepNum) => {
    let startStep = 0;
    for (let i = 0; i < phases.length; i++) {
      const phase = phases[i]!;
      if (stepNum <= phase.endStep || i === phases.length - 1) {
        const p = (stepNum - startStep) / (phase.endStep - startStep);
        return { lr: anneal(phase.startLr, phase.endLr, p), momentum: anneal(phase.startM, phase.endM, p) };
      }
      startStep = phase.endStep;
    }
    throw new Error('unreachable');
  };
}

describe('oneCycleLr / oneCycleMomentum equal PyTorch OneCycleLR at every step', () => {
  const cases = [
    { maxLr: 0.1, totalSteps: 100, pctStart: 0.3 },
    { maxLr: 0.1, totalSteps: 100, pctStart: 0.25 },
    { maxLr: 3e-3, totalSteps: 37, pctStart: 0.25, divFactor: 10, finalDivFactor: 100 },
    { maxLr: 1, totalSteps: 250, pctStart: 0.4, annealStrategy: 'linear' as const },
  ];
  for (const c of cases) {
    test(`maxLr ${c.maxLr}, ${c.totalSteps} steps, pctStart ${c.pctStart}, ${c.annealStrategy ?? 'cos'}`, () => {
      const ref = torchOneCycle(c);
      const lr = oneCycleLr({
        maxLr: c.maxLr,
        pctStart: c.pctStart,
        ...(c.divFactor ? { divFactor: c.divFactor } : {}),
        ...(c.finalDivFactor ? { finalDivFactor: c.finalDivFactor } : {}),
        anneal: c.annealStrategy ?? 'cos',
      });
      const mom = oneCycleMomentum({ pctStart: c.pctStart, anneal: c.annealStrategy ?? 'cos' });
      for (let s = 0; s < c.totalSteps; s++) {
        expect(Math.abs(valueAt(lr, s, c.totalSteps) - ref(s).lr)).toBeLessThanOrEqual(1e-9 * c.maxLr);
        expect(Math.abs(valueAt(mom, s, c.totalSteps) - ref(s).momentum)).toBeLessThanOrEqual(1e-12);
      }
    });
  }

  test('hand-derived values (maxLr 1, 100 steps, defaults: pctStart 0.25, div 25, final div 1e4)', () => {
    const lr = oneCycleLr({ maxLr: 1 });
    const mom = oneCycleMomentum({});
    // phase one ends at step 0.25·100 − 1 = 24; its middle (step 12) is halfway on the cosine
    expect(valueAt(lr, 0, 100)).toBeCloseTo(0.04, 15); // 1 / 25
    expect(valueAt(lr, 12, 100)).toBeCloseTo(0.52, 15); // (0.04 + 1) / 2
    expect(valueAt(lr, 24, 100)).toBeCloseTo(1, 15);
    expect(valueAt(lr, 99, 100)).toBeCloseTo(4e-6, 18); // 0.04 / 1e4
    // step 6: a quarter of phase one: 1 − 0.48·(cos(π/4) + 1)
    expect(valueAt(lr, 6, 100)).toBeCloseTo(1 - 0.48 * (Math.SQRT1_2 + 1), 15);
    expect(valueAt(mom, 0, 100)).toBeCloseTo(0.95, 15);
    expect(valueAt(mom, 12, 100)).toBeCloseTo(0.9, 15);
    expect(valueAt(mom, 24, 100)).toBeCloseTo(0.85, 15);
    expect(valueAt(mom, 99, 100)).toBeCloseTo(0.95, 15);
  });
});

describe('three-phase one-cycle (PyTorch OneCycleLR(three_phase=True))', () => {
  test('test_onecycle_lr_linear_annealing_three_phases: lr and momentum at each of 10 steps', () => {
    // PyTorch test/optim/test_lrscheduler.py test_onecycle_lr_linear_annealing_three_phases: max_lr 25,
    // div_factor 25, base_momentum 1, max_momentum 22, total_steps 10, linear, pct_start 0.4,
    // final_div_factor 4, three_phase=True.
    const lrTarget = [1, 9, 17, 25, 17, 9, 1, 0.75, 0.5, 0.25];
    const momentumTarget = [22, 15, 8, 1, 8, 15, 22, 22, 22, 22];
    const common = { pctStart: 0.4, anneal: 'linear' as const, threePhase: true };
    const lr = oneCycleLr({ maxLr: 25, divFactor: 25, finalDivFactor: 4, ...common });
    const mom = oneCycleMomentum({ momentum: [22, 1], ...common });
    for (let s = 0; s < 10; s++) {
      expect(valueAt(lr, s, 10)).toBeCloseTo(lrTarget[s]!, 12);
      expect(valueAt(mom, s, 10)).toBeCloseTo(momentumTarget[s]!, 12);
    }
  });

  test('cosine three phases: torch 2.13 OneCycleLR(max_lr 0.1, total_steps 20, pct_start 0.3, three_phase=True)', () => {
    // lr and momentum of each step as torch 2.13 gives them (SGD with momentum 0.9, defaults otherwise)
    const torchLr = [
      0.0040000000000000036, 0.013167184270002533, 0.037167184270002526, 0.06683281572999747,
      0.09083281572999748, 0.1, 0.09083281572999748, 0.06683281572999748, 0.037167184270002526,
      0.013167184270002527, 0.004, 0.003879397303047659, 0.0035321356773493316, 0.0030001,
      0.0023474616256983273, 0.0016529383743016728, 0.0010003000000000004, 0.000468264322650668,
      0.00012100269695234054, 4e-7,
    ];
    const torchMomentum = [
      0.95,
      0.9404508497187474,
      0.9154508497187474,
      0.8845491502812526,
      0.8595491502812526,
      0.85,
      0.8595491502812526,
      0.8845491502812526,
      0.9154508497187474,
      0.9404508497187474,
      ...Array(10).fill(0.95),
    ];
    const lr = oneCycleLr({ maxLr: 0.1, pctStart: 0.3, threePhase: true });
    const mom = oneCycleMomentum({ pctStart: 0.3, threePhase: true });
    for (let s = 0; s < 20; s++) {
      expect(Math.abs(valueAt(lr, s, 20) - torchLr[s]!)).toBeLessThanOrEqual(1e-15);
      expect(Math.abs(valueAt(mom, s, 20) - torchMomentum[s]!)).toBeLessThanOrEqual(1e-15);
    }
  });

  test('the plugin with threePhase drives the optimizer through the three phases', async () => {
    const data = classificationData(80);
    const rec = stepRecorder(['lr', 'momentum']);
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer: sgd({ lr: 1, momentum: 0.9 }),
      plugins: [
        oneCycle({
          maxLr: 25,
          divFactor: 25,
          finalDivFactor: 4,
          momentum: [22, 1],
          pctStart: 0.4,
          anneal: 'linear',
          threePhase: true,
        }),
        rec.plugin,
      ],
      log: 'silent',
    });
    await trainer.fit(data, { epochs: 1, batchSize: 8 }); // 10 steps
    tf.dispose([data.x, data.y]);
    expect(rec.rows.map((r) => r.lr)).toEqual(
      [1, 9, 17, 25, 17, 9, 1, 0.75, 0.5, 0.25].map((v) => expect.closeTo(v, 12)),
    );
    expect(rec.rows.map((r) => r.momentum)).toEqual(
      [22, 15, 8, 1, 8, 15, 22, 22, 22, 22].map((v) => expect.closeTo(v, 12)),
    );
  });

  test('unknown option keys fail with TL_OPTION_INVALID naming the closest valid key', () => {
    expect(() => oneCycle({ maxLr: 1, threephase: true } as never)).toThrow(
      /TL_OPTION_INVALID.*oneCycle.*unknown option "threephase"; did you mean "threePhase"\?/,
    );
    expect(() => oneCycle({ maxLr: 1, pct_start: 0.3 } as never)).toThrow(/did you mean "pctStart"\?/);
    expect(() => oneCycleLr({ maxLr: 1, finalDivFactr: 10 } as never)).toThrow(
      /did you mean "finalDivFactor"\?/,
    );
  });
});

describe('oneCycle plugin drives the optimizer', () => {
  const run = async (
    optimizer: ConstructorParameters<typeof Trainer>[0]['optimizer'],
    names: string[],
    plugin = oneCycle({ maxLr: 0.05 }),
  ) => {
    const data = classificationData(64);
    const rec = stepRecorder(names);
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer,
      plugins: [plugin, rec.plugin],
      log: 'silent',
    });
    await trainer.fit(data, { epochs: 3, batchSize: 8 }); // 24 steps
    tf.dispose([data.x, data.y]);
    return { rows: rec.rows, trainer };
  };

  test('sgd: lr and momentum used at each of 24 steps equal PyTorch (pctStart 0.25)', async () => {
    const { rows } = await run(sgd({ lr: 1, momentum: 0.9 }), ['lr', 'momentum']);
    const ref = torchOneCycle({ maxLr: 0.05, totalSteps: 24, pctStart: 0.25 });
    expect(rows).toHaveLength(24);
    rows.forEach((r, i) => {
      expect(r.lr!).toBeCloseTo(ref(i).lr, 12);
      expect(r.momentum!).toBeCloseTo(ref(i).momentum, 12);
    });
  });

  test('adam cycles beta1; rmsprop without momentum cycles alpha; a tfjs optimizer gets lr only', async () => {
    const ref = torchOneCycle({ maxLr: 0.05, totalSteps: 24, pctStart: 0.25 });
    const a = await run(adam({ lr: 1 }), ['lr', 'beta1', 'beta2']);
    a.rows.forEach((r, i) => {
      expect(r.beta1!).toBeCloseTo(ref(i).momentum, 12);
      expect(r.beta2).toBe(0.999);
    });
    const r = await run(rmsprop({ lr: 1 }), ['lr', 'alpha', 'momentum']);
    r.rows.forEach((row, i) => {
      expect(row.alpha!).toBeCloseTo(ref(i).momentum, 12);
      expect(row.momentum).toBe(0);
    });
    const rm = await run(rmsprop({ lr: 1, momentum: 0.9 }), ['alpha', 'momentum']);
    rm.rows.forEach((row, i) => {
      expect(row.momentum!).toBeCloseTo(ref(i).momentum, 12);
      expect(row.alpha).toBe(0.99);
    });
    const t = await run(tf.train.adam(1), ['lr']);
    t.rows.forEach((row, i) => {
      expect(row.lr!).toBeCloseTo(ref(i).lr, 12);
    });
    expect((t.trainer.optimizer as unknown as { learningRate: number }).learningRate).toBeCloseTo(
      ref(23).lr,
      12,
    );
  });

  test('per-group maxLr (discriminative) and describe() shows start/peak/end per group', async () => {
    const optimizer = sgd({ lr: 1, momentum: 0.9, groups: [{ name: 'body', match: /^hidden\// }] });
    const plugin = oneCycle({ maxLr: { body: 0.01, default: 0.1 }, momentum: [0.9, 0.8] });
    const body = stepRecorder(['lr', 'momentum'], 'body');
    const data = classificationData(64);
    const trainer = new Trainer({
      model: tinyClassifier(),
      loss: 'categoricalCrossentropy',
      optimizer,
      plugins: [plugin, body.plugin],
      log: 'silent',
    });
    const before = trainer.describe();
    expect(before).toContain(
      'lr (group body), set: start 4e-4 → peak 0.01 at step 249 → end 4e-8 at step 999',
    );
    expect(before).toContain(
      'lr (group default), set: start 4e-3 → peak 0.1 at step 249 → end 4e-7 at step 999',
    );
    expect(before).toContain('length unknown until fit()');
    await trainer.fit(data, { epochs: 3, batchSize: 8 });
    const ref = torchOneCycle({
      maxLr: 0.01,
      totalSteps: 24,
      pctStart: 0.25,
      maxMomentum: 0.9,
      baseMomentum: 0.8,
    });
    body.rows.forEach((r, i) => {
      expect(r.lr!).toBeCloseTo(ref(i).lr, 14);
      expect(r.momentum!).toBeCloseTo(ref(i).momentum, 12);
    });
    expect(trainer.describe()).toContain('24 steps');
    expect(trainer.describe()).toContain(
      'lr (group default), set: start 4e-3 → peak 0.1 at step 5 → end 4e-7 at step 23',
    );
    tf.dispose([data.x, data.y]);
  });

  test('two one-cycles (two set writers of lr) fail at construction', () => {
    expect(
      () =>
        new Trainer({
          model: tinyClassifier(),
          loss: 'categoricalCrossentropy',
          optimizer: sgd({ lr: 1 }),
          plugins: [oneCycle({ maxLr: 0.1 }), oneCycle({ maxLr: 0.2, name: 'other' })],
          log: 'silent',
        }),
    ).toThrow(/TL_HPARAM_CONFLICT/);
  });
});
