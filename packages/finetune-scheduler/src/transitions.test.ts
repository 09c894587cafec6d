import * as tf from '@tensorflow/tfjs';
import { definePlugin, sgd } from '@tensorloop/core';
import { beforeAll, describe, expect, test } from 'vitest';
import type { FinetuneTransitionEvent } from './finetune-scheduler.js';
import type { PhaseSpec } from './schedule-types.js';
import { DIVERGING, NAME, runScripted } from './test-helpers.js';
import { shouldTransition } from './transitions.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** FTS's `boring_ft_schedule[1]`: phase 0 = the two top layers (mte 3), phase 1 at lr 1e-6, phase 2 a regex. */
const EXPLICIT: Record<number, PhaseSpec> = {
  0: { params: ['l3/.*', 'l2/.*'], maxTransitionEpoch: 3 },
  1: { params: ['l1/bias', 'l1/kernel'], lr: 1e-6 },
  2: { params: ['l0/.*'] },
};

const depths = (run: Awaited<ReturnType<typeof runScripted>>) => run.views.map((v) => v.depth);
const lrs = (run: Awaited<ReturnType<typeof runScripted>>) => Object.fromEntries(run.views.at(-1)!.groups);

describe('shouldTransition (FTS should_transition)', () => {
  const base = {
    depth: 0,
    maxDepth: 2,
    epoch: 3,
    maxTransitionEpoch: -1,
    phaseComplete: false,
    epochTransitionsOnly: false,
  };
  test('maxTransitionEpoch is an absolute epoch compared with ≤', () => {
    expect(shouldTransition({ ...base, maxTransitionEpoch: 4 })).toBeUndefined();
    expect(shouldTransition({ ...base, maxTransitionEpoch: 3 })).toBe('maxTransitionEpoch');
    expect(shouldTransition({ ...base, maxTransitionEpoch: 0 })).toBe('maxTransitionEpoch');
  });
  test('early stopping or the epoch, never in the final phase; epoch-only mode ignores early stopping', () => {
    expect(shouldTransition({ ...base, phaseComplete: true })).toBe('earlyStopping');
    expect(
      shouldTransition({ ...base, depth: 2, phaseComplete: true, maxTransitionEpoch: 0 }),
    ).toBeUndefined();
    expect(shouldTransition({ ...base, phaseComplete: true, epochTransitionsOnly: true })).toBeUndefined();
    expect(shouldTransition({ ...base, maxTransitionEpoch: 1, epochTransitionsOnly: true })).toBe(
      'maxTransitionEpoch',
    );
  });
});

describe('early-stopping-driven transitions (FTS test_fts_intrafit, patience 1)', () => {
  for (const restoreBest of [true, false]) {
    test(`implicit schedule, restoreBest ${restoreBest}: depths 0,0,0,0,0,1,2,3 and the final phase stops at epoch 7`, async () => {
      const run = await runScripted(
        { val_loss: DIVERGING },
        { restoreBest, earlyStopping: { patience: 1 } },
        12,
      );
      expect(depths(run)).toEqual([0, 0, 0, 0, 0, 1, 2, 3]);
      expect(run.views.map((v) => v.thawed)).toEqual([2, 2, 2, 2, 2, 4, 6, 8]);
      expect(run.views.map((v) => v.groups.length)).toEqual([1, 1, 1, 1, 1, 2, 3, 4]);
      expect(run.epochs).toBe(8); // FTS: stopped_epoch 7, ft_epoch 8
      expect(run.stopReason?.by).toBe(NAME);
      expect(run.stopReason?.time.epoch).toBe(7);
      expect(run.stopReason?.message).toBe(
        'final phase 3: no improvement in val_loss for 1 epoch (best val_loss 0.7 at epoch 3)',
      );
      expect(run.api.bestEpoch).toBe(3); // the best is never reset between phases
      expect(run.api.depthRemaining).toBe(0);
      expect(run.api.restores).toBe(restoreBest ? 3 : 0); // one restore per transition
      expect(run.api.transitions.map((t) => [t.depth, t.epoch, t.reason])).toEqual([
        [1, 5, 'earlyStopping'],
        [2, 6, 'earlyStopping'],
        [3, 7, 'earlyStopping'],
      ]);
      expect(run.api.transitions.map((t) => t.restoredBestEpoch)).toEqual(
        restoreBest ? [3, 3, 3] : [null, null, null],
      );
      expect(run.infos).toContain(
        "Given the current configuration of maxDepth (3), this training session will now end when the early stopping conditions are met or the fit's epochs (12) are reached.",
      );
    });
  }

  test('patience 3 (the default): a phase lasts until its third epoch without improvement', async () => {
    const run = await runScripted({ val_loss: [...DIVERGING, 1.2, 1.3, 1.4, 1.5] }, {}, 16);
    // epochs 4, 5, 6 do not improve: phase 0 is complete after epoch 6; then 3 epochs per phase
    expect(depths(run)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
    expect(run.stopReason?.time.epoch).toBe(15);
  });
});

describe('explicit schedule and maxDepth (FTS test_fts_explicit_implicit, patience 1)', () => {
  const cases: [string, boolean, number, { stopped: number; depth: number; lrs: Record<string, number> }][] =
    [
      ['explicit', true, -1, { stopped: 5, depth: 2, lrs: { phase1: 1e-6, phase2: 1e-5, default: 1e-3 } }],
      [
        'implicit',
        false,
        -1,
        { stopped: 7, depth: 3, lrs: { phase1: 1e-5, phase2: 1e-5, phase3: 1e-5, default: 1e-3 } },
      ],
      ['explicit', true, 0, { stopped: 4, depth: 0, lrs: { default: 1e-3 } }],
      ['implicit', false, 0, { stopped: 4, depth: 0, lrs: { default: 1e-3 } }],
      ['explicit', true, 2, { stopped: 5, depth: 2, lrs: { phase1: 1e-6, phase2: 1e-5, default: 1e-3 } }],
      ['implicit', false, 2, { stopped: 6, depth: 2, lrs: { phase1: 1e-5, phase2: 1e-5, default: 1e-3 } }],
      [
        'implicit',
        false,
        999,
        { stopped: 7, depth: 3, lrs: { phase1: 1e-5, phase2: 1e-5, phase3: 1e-5, default: 1e-3 } },
      ],
    ];
  for (const [kind, isExplicit, maxDepth, expected] of cases) {
    test(`${kind}, maxDepth ${maxDepth}: stops at epoch ${expected.stopped} at depth ${expected.depth}`, async () => {
      const run = await runScripted(
        { val_loss: DIVERGING },
        { ...(isExplicit ? { schedule: EXPLICIT } : {}), maxDepth, earlyStopping: { patience: 1 } },
        12,
      );
      expect(run.stopReason?.time.epoch).toBe(expected.stopped);
      expect(run.api.currDepth).toBe(expected.depth);
      expect(run.api.depthRemaining).toBe(0);
      expect(lrs(run)).toEqual(expected.lrs);
      // phases past maxDepth never thaw
      const thawed = run.api.schedule!.slice(0, expected.depth + 1).flatMap((p) => p.params);
      expect(
        run.trainer
          .parameters()
          .filter((p) => p.trainable)
          .map((p) => p.name)
          .sort(),
      ).toEqual([...thawed].sort());
    });
  }

  test('explicit: the epoch-driven transition comes at epoch 3, the early-stopping one after', async () => {
    const run = await runScripted(
      { val_loss: DIVERGING },
      { schedule: EXPLICIT, earlyStopping: { patience: 1 } },
      12,
    );
    expect(depths(run)).toEqual([0, 0, 0, 1, 1, 2]);
    expect(run.api.transitions.map((t) => t.reason)).toEqual(['maxTransitionEpoch', 'earlyStopping']);
  });
});

describe('param groups and their lr (FTS test_fts_nolrs_intrafit: SGD lr 0.1, no scheduler)', () => {
  test('each transition adds one group at baseMaxLr; existing groups keep their lr', async () => {
    const run = await runScripted({ val_loss: DIVERGING }, { earlyStopping: { patience: 1 } }, 12, {
      optimizer: sgd({ lr: 0.1 }),
    });
    const at = (epoch: number) => run.views.find((v) => v.epoch === epoch)!.groups;
    expect(at(4)).toEqual([['default', 0.1]]);
    expect(at(5)).toEqual([
      ['phase1', 1e-5],
      ['default', 0.1],
    ]);
    expect(at(6)).toEqual([
      ['phase1', 1e-5],
      ['phase2', 1e-5],
      ['default', 0.1],
    ]);
    expect(at(7)).toEqual([
      ['phase1', 1e-5],
      ['phase2', 1e-5],
      ['phase3', 1e-5],
      ['default', 0.1],
    ]);
    // the epoch logs carry every group's lr
    expect(run.trainer.history.at(-1)!.logs).toMatchObject({ lr: 0.1, 'lr/phase3': 1e-5 });
  });

  test('baseMaxLr and a phase lr', async () => {
    const run = await runScripted(
      { val_loss: DIVERGING },
      { schedule: EXPLICIT, baseMaxLr: 3e-4, earlyStopping: { patience: 1 } },
      12,
    );
    expect(lrs(run)).toEqual({ phase1: 1e-6, phase2: 3e-4, default: 1e-3 });
  });
});

describe('epoch transitions only (FTS test_fts_epoch_trans_only, 6 epochs)', () => {
  const ETO: Record<number, PhaseSpec> = {
    0: { params: ['l3/.*', 'l2/.*'], maxTransitionEpoch: 3 },
    1: { params: ['l1/bias', 'l1/kernel'], lr: 1e-6, maxTransitionEpoch: 2 },
    2: { params: ['l0/.*'], maxTransitionEpoch: 2 },
  };
  test('depth 2 after 6 epochs, 8 weights thawed, 3 groups; early stopping ignored; the expected warnings', async () => {
    const run = await runScripted(
      { val_loss: DIVERGING },
      { schedule: ETO, epochTransitionsOnly: true, earlyStopping: { patience: 1 } },
      6,
    );
    expect(depths(run)).toEqual([0, 0, 0, 1, 2, 2]);
    expect(run.epochs).toBe(6);
    expect(run.stopReason).toBeUndefined();
    expect(run.api.currDepth).toBe(2);
    expect(run.trainer.parameters().filter((p) => p.trainable)).toHaveLength(8);
    expect(run.trainer.paramGroups).toHaveLength(3);
    expect(run.warnings.some((w) => w.includes('Pruning the extraneous early stopping'))).toBe(true);
    expect(run.warnings).toContain(
      'Specified maxTransitionEpoch of depth 1 (2) is less than or equal to a previous maxTransitionEpoch (3), depth may execute only a single epoch.',
    );
    expect(run.warnings.some((w) => w.startsWith('Final phase maxTransitionEpoch (2) is ignored'))).toBe(
      true,
    );
  });

  test('restoreBest still needs the monitor, and says how to do without it', async () => {
    await expect(runScripted({}, { schedule: ETO, epochTransitionsOnly: true }, 2)).rejects.toThrow(
      'pass validationData (or earlyStopping.monitor), or set restoreBest: false',
    );
  });

  test('no validation data needed with restoreBest: false', async () => {
    const run = await runScripted({}, { schedule: ETO, epochTransitionsOnly: true, restoreBest: false }, 5);
    expect(depths(run)).toEqual([0, 0, 0, 1, 2]);
  });

  test('the schedule without maxTransitionEpoch is refused (FTS: "missing a max_")', async () => {
    await expect(runScripted({}, { schedule: EXPLICIT, epochTransitionsOnly: true }, 3)).rejects.toThrow(
      'epochTransitionsOnly specified but some phases (1) are missing a maxTransitionEpoch',
    );
  });
});

describe('one transition per epoch start', () => {
  test('a non-increasing maxTransitionEpoch still gives its phase one epoch', async () => {
    const run = await runScripted(
      {},
      {
        schedule: {
          0: { params: ['l3/.*'], maxTransitionEpoch: 2 },
          1: { params: ['l2/.*'], maxTransitionEpoch: 1 },
          2: { params: ['l1/.*'], maxTransitionEpoch: 0 },
          3: { params: ['l0/.*'] },
        },
        epochTransitionsOnly: true,
        restoreBest: false,
      },
      6,
    );
    expect(depths(run)).toEqual([0, 0, 1, 2, 3, 3]);
  });

  test('maxTransitionEpoch 0 on phase 0 transitions at the very first epoch start (an FTS edge case)', async () => {
    const run = await runScripted(
      {},
      {
        schedule: { 0: { params: ['l3/.*'], maxTransitionEpoch: 0 }, 1: { params: ['l2/.*'] } },
        epochTransitionsOnly: true,
        restoreBest: false,
      },
      2,
    );
    expect(depths(run)).toEqual([1, 1]);
  });
});

describe('FTSEarlyStopping rules (FTS test_fts_constant_loss, test_early_stopping_*)', () => {
  test('a constant val_loss: every phase lasts patience epochs, the final one stops (depth 3, 5 epochs)', async () => {
    const run = await runScripted({ val_loss: Array(6).fill(1) }, { earlyStopping: { patience: 1 } }, 6);
    expect(depths(run)).toEqual([0, 0, 1, 2, 3]);
    expect(run.epochs).toBe(5);
    expect(run.api.depthRemaining).toBe(0);
  });

  test("the fit's epochs cut the schedule short (depth 1, 2 remaining)", async () => {
    const run = await runScripted({ val_loss: DIVERGING }, { earlyStopping: { patience: 1 } }, 6);
    expect(run.epochs).toBe(6);
    expect([run.api.currDepth, run.api.depthRemaining]).toEqual([1, 2]);
    expect(run.stopReason).toBeUndefined();
  });

  test('a non-finite value ends the run (losses 4, 3, Infinity, 2, 1 stop at epoch 2)', async () => {
    for (const bad of [Number.POSITIVE_INFINITY, Number.NaN]) {
      const run = await runScripted({ val_loss: [4, 3, bad, 2, 1] }, { maxDepth: 0 }, 5);
      expect(run.stopReason?.time.epoch).toBe(2);
      expect(run.stopReason?.message).toMatch(/^val_loss = (Infinity|NaN) is not finite/);
    }
  });

  test('patience 3: [8, 4, 2, 3, 4, 5, 8, 10] stops at epoch 5', async () => {
    const run = await runScripted({ val_loss: [8, 4, 2, 3, 4, 5, 8, 10] }, { maxDepth: 0 }, 8);
    expect(run.stopReason?.time.epoch).toBe(5);
  });

  test('stoppingThreshold 2.9: [9, 8, 7, 6, 5, 6, 4, 3, 2, 1] stops at epoch 8', async () => {
    const run = await runScripted(
      { val_loss: [9, 8, 7, 6, 5, 6, 4, 3, 2, 1] },
      { maxDepth: 0, earlyStopping: { stoppingThreshold: 2.9 } },
      10,
    );
    expect(run.stopReason?.time.epoch).toBe(8);
    expect(run.stopReason?.message).toBe('val_loss = 2 reached the stopping threshold 2.9 at depth 0');
  });

  test('divergenceThreshold 15.9: [9, 4, 2, 16, 32, 64] stops at epoch 3', async () => {
    const run = await runScripted(
      { val_loss: [9, 4, 2, 16, 32, 64] },
      { maxDepth: 0, earlyStopping: { divergenceThreshold: 15.9 } },
      6,
    );
    expect(run.stopReason?.time.epoch).toBe(3);
  });

  test('thresholds end the run in a non-final phase too', async () => {
    const run = await runScripted({ val_loss: [9, 8, 1] }, { earlyStopping: { stoppingThreshold: 2 } }, 6);
    expect([run.stopReason?.time.epoch, run.api.currDepth, run.api.depthRemaining]).toEqual([2, 0, 3]);
  });

  test('minDelta and a max-mode monitor', async () => {
    const run = await runScripted(
      { val_acc: [0.5, 0.6, 0.605, 0.7, 0.71, 0.72] },
      { maxDepth: 1, earlyStopping: { monitor: 'val_acc', mode: 'max', patience: 1, minDelta: 0.02 } },
      6,
    );
    // 0.605 and 0.71 do not beat the best by more than 0.02
    expect(depths(run)).toEqual([0, 0, 0, 1, 1]);
    expect(run.stopReason?.time.epoch).toBe(4);
    expect(run.api.best).toBe(0.7);
  });

  test('wait resets at a transition, the best does not', async () => {
    const seen: [number, number, number | undefined][] = [];
    const probe = definePlugin({
      name: 'test:probe',
      after: [NAME],
      onEpochStart(ctx) {
        const fts = ctx.plugin(NAME);
        seen.push([fts.currDepth, fts.wait, fts.best]);
      },
    });
    await runScripted({ val_loss: DIVERGING }, { earlyStopping: { patience: 2 } }, 8, { plugins: [probe] });
    // epochs 4, 5 do not improve: phase 0 complete; phase 1 starts at epoch 6 with wait 0, best 0.7
    expect(seen[6]).toEqual([1, 0, 0.7]);
    expect(seen[5]).toEqual([0, 1, 0.7]);
    // an epoch-driven transition mid-patience resets the wait too (FTS _reset_es_phase)
    seen.length = 0;
    await runScripted(
      { val_loss: [1, 0.9, 0.95, 0.96, 0.97] },
      { schedule: EXPLICIT, earlyStopping: { patience: 2 } },
      5,
      {
        plugins: [probe],
      },
    );
    expect(seen[2]).toEqual([0, 0, 0.9]);
    expect(seen[3]).toEqual([1, 0, 0.9]);
    expect(seen[4]).toEqual([1, 1, 0.9]);
  });
});

describe('the finetune:transition event', () => {
  test('other plugins hook it, after the weights were thawed and the group added', async () => {
    const events: FinetuneTransitionEvent[] = [];
    const groupsAtEvent: string[][] = [];
    const hooker = definePlugin({
      name: 'test:hooker',
      'finetune:transition'(ctx, e) {
        events.push(e);
        groupsAtEvent.push(
          ctx
            .parameters()
            .filter((p) => p.trainable)
            .map((p) => p.group),
        );
      },
    });
    await runScripted({ val_loss: DIVERGING }, { schedule: EXPLICIT, earlyStopping: { patience: 1 } }, 12, {
      plugins: [hooker],
    });
    expect(events).toEqual([
      {
        depth: 1,
        phase: 1,
        previousDepth: 0,
        epoch: 3,
        reason: 'maxTransitionEpoch',
        message:
          'maxTransitionEpoch 3 reached; 2 weights thawed, group phase1 at lr 0.000001, best weights of epoch 2 restored first',
        name: 'l1',
        unfrozen: ['l1/bias', 'l1/kernel'],
        group: 'phase1',
        lr: 1e-6,
        restoredBestEpoch: 2,
      },
      {
        depth: 2,
        phase: 2,
        previousDepth: 1,
        epoch: 5,
        reason: 'earlyStopping',
        message:
          'phase 1 ran out of patience; 2 weights thawed, group phase2 at lr 0.00001, best weights of epoch 3 restored first',
        name: 'l0',
        unfrozen: ['l0/kernel', 'l0/bias'],
        group: 'phase2',
        lr: 1e-5,
        restoredBestEpoch: 3,
      },
    ]);
    expect(groupsAtEvent[1]).toEqual([
      'phase2',
      'phase2',
      'phase1',
      'phase1',
      'default',
      'default',
      'default',
      'default',
    ]);
  });
});
