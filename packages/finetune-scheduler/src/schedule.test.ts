import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { isTensorloopError, sgd, Trainer } from '@tensorloop/core';
import { beforeAll, describe, expect, test } from 'vitest';
import { finetuneScheduler } from './finetune-scheduler.js';
import type { FinetuneSchedulerOptions } from './options.js';
import type { ScheduleInput } from './schedule-types.js';
import {
  boringData,
  boringModel,
  DIVERGING,
  runScripted,
  script,
  tempDir,
  weightValues,
} from './test-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const YAML = `
0:
  params:
  - l3/bias
  - l3/kernel
  max_transition_epoch: 2
1:
  params:
  - l2/.*
  lr: 1e-06
2:
  params: [l1/.*, l0/kernel]
  maxTransitionEpoch: 4
3:
  params: ['l0/bias']
`;

/** The resolved schedule a source gives (resolved at fit start, after one epoch). */
async function resolved(schedule: ScheduleInput, extra: FinetuneSchedulerOptions = {}) {
  const run = await runScripted({ val_loss: DIVERGING }, { schedule, ...extra }, 1);
  return { schedule: run.api.schedule!, warnings: run.warnings };
}

/** The error a schedule gives (at construction or before the first step), and proof nothing trained. */
async function refusal(schedule: unknown, extra: FinetuneSchedulerOptions = {}): Promise<string> {
  const model = boringModel();
  const before = weightValues(model);
  let trainer: Trainer | undefined;
  try {
    trainer = new Trainer({
      model,
      loss: 'meanSquaredError',
      optimizer: sgd({ lr: 0.1 }),
      plugins: [
        script({ val_loss: DIVERGING }),
        finetuneScheduler({ logDir: false, schedule: schedule as ScheduleInput, ...extra }),
      ],
      log: 'silent',
    });
    await trainer.fit(boringData(), { epochs: 2, batchSize: 8 });
  } catch (error) {
    if (!isTensorloopError(error, 'TL_SCHEDULE_INVALID')) throw error;
    expect(trainer?.time.step ?? 0).toBe(0); // before the first step
    const after = weightValues(model);
    for (const [name, values] of before) expect(after.get(name)).toEqual(values);
    return error.message;
  }
  throw new Error('the schedule was accepted');
}

describe('schedule sources (YAML file, YAML text, object, array)', () => {
  test('all four give the same resolved schedule; regexes expand in model weight order', async () => {
    const dir = tempDir();
    const file = join(dir, 'ft.yaml');
    writeFileSync(file, YAML);
    const object = {
      0: { params: ['l3/bias', 'l3/kernel'], maxTransitionEpoch: 2 },
      1: { params: ['l2/.*'], lr: 1e-6 },
      2: { params: ['l1/.*', 'l0/kernel'], maxTransitionEpoch: 4 },
      3: { params: ['l0/bias'] },
    };
    const fromFile = await resolved(file);
    expect(fromFile.schedule).toEqual([
      {
        depth: 0,
        params: ['l3/bias', 'l3/kernel'],
        maxTransitionEpoch: 2,
        lr: undefined,
        newOptimizer: undefined,
        newLrSchedule: undefined,
      },
      {
        depth: 1,
        params: ['l2/kernel', 'l2/bias'],
        maxTransitionEpoch: -1,
        lr: 1e-6,
        newOptimizer: undefined,
        newLrSchedule: undefined,
      },
      {
        depth: 2,
        params: ['l1/kernel', 'l1/bias', 'l0/kernel'],
        maxTransitionEpoch: 4,
        lr: 1e-5,
        newOptimizer: undefined,
        newLrSchedule: undefined,
      },
      {
        depth: 3,
        params: ['l0/bias'],
        maxTransitionEpoch: -1,
        lr: 1e-5,
        newOptimizer: undefined,
        newLrSchedule: undefined,
      },
    ]);
    expect((await resolved(YAML)).schedule).toEqual(fromFile.schedule);
    expect((await resolved(object)).schedule).toEqual(fromFile.schedule);
    expect((await resolved(Object.values(object))).schedule).toEqual(fromFile.schedule);
  });

  test('regexes match from the start of the name (re.match), not anywhere', async () => {
    expect((await resolved({ 0: { params: ['l'] } })).schedule[0]!.params).toHaveLength(8);
    expect(await refusal({ 0: { params: ['kernel'] } })).toContain(
      "The parameter or regex 'kernel' specified in phase 0 of the provided explicit schedule did not match any named parameter in the model.",
    );
  });

  test('the resolved schedule is written to logDir as <modelName>_ft_schedule.yaml and reads back', async () => {
    const dir = tempDir();
    const model = boringModel();
    const trainer = new Trainer({
      model,
      loss: 'meanSquaredError',
      optimizer: sgd({ lr: 0.1 }),
      plugins: [script({ val_loss: DIVERGING }), finetuneScheduler({ schedule: YAML, logDir: dir })],
      log: 'silent',
    });
    await trainer.fit(boringData(), { epochs: 1, batchSize: 8 });
    const file = join(dir, `${model.name}_ft_schedule.yaml`);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('- l2/kernel\n');
    expect(text).toContain('maxTransitionEpoch: 4');
    expect((await resolved(file)).schedule).toEqual((await resolved(YAML)).schedule);
  });
});

describe('validation before the first step, with FTS-equivalent messages', () => {
  test('a name or regex that matches nothing', async () => {
    expect(await refusal({ 0: { params: ['l3/.*'] }, 1: { params: ['head/kernel'] } })).toContain(
      "The parameter or regex 'head/kernel' specified in phase 1 of the provided explicit schedule did not match any named parameter in the model. Weight names (matched from the start; '.' is a regex wildcard): l0/kernel, l0/bias,",
    );
  });

  test('a weight in two phases, or twice in one phase after regex expansion', async () => {
    expect(await refusal({ 0: { params: ['l3/.*'] }, 1: { params: ['l3/bias', 'l2/.*'] } })).toContain(
      'Phases are not disjoint. The following parameters are specified in multiple phases: l3/bias (phases 0, 1)',
    );
    expect(await refusal({ 0: { params: ['l3/.*', 'l3/kernel'] } })).toContain(
      'Phases are not disjoint. The following parameters are specified in multiple phases: l3/kernel (phases 0)',
    );
  });

  test('duplicate keys in YAML, at the top or inside a phase', async () => {
    expect(await refusal('0:\n  params: [l3/.*]\n1:\n  params: [l2/.*]\n1:\n  params: [l1/.*]\n')).toContain(
      'Duplicate key (1) found in supplied schedule: the YAML text. Please validate schedule before resubmitting.',
    );
    expect(await refusal('0:\n  params: [l3/.*]\n  lr: 1\n  lr: 2\n')).toContain('Duplicate key (lr)');
  });

  test('keys that are not integers, not contiguous or not from 0', async () => {
    expect(await refusal({ 0: { params: ['l3/.*'] }, b: { params: ['l2/.*'] } })).toContain(
      "The supplied schedule was found to use one or more keys that were not convertible to integers ('b').",
    );
    expect(await refusal({ 0: { params: ['l3/.*'] }, 1.5: { params: ['l2/.*'] } })).toContain(
      'not convertible to integers',
    );
    expect(await refusal({ 0: { params: ['l3/.*'] }, 2: { params: ['l2/.*'] } })).toContain(
      'The supplied schedule was found to have non-contiguous or non-zero-indexed keys (0, 2). Phase keys must be 0, 1, ..., 1: renumber them (0 → 0, 2 → 1)',
    );
    expect(await refusal({ 1: { params: ['l3/.*'] } })).toContain(
      'non-contiguous or non-zero-indexed keys (1)',
    );
  });

  test('an lr that is not a number', async () => {
    expect(
      await refusal({ 0: { params: ['l3/.*'] }, 1: { params: ['l2/.*'], lr: 'not_a_number' } }),
    ).toContain(
      "The lr 'not_a_number' in phase 1 of the provided explicit schedule could not be cast to a float ≥ 0.",
    );
    // YAML numbers and numeric strings are fine (FTS casts with float())
    const ok = await resolved({ 0: { params: ['l3/.*'] }, 1: { params: ['l2/.*'], lr: '2e-4' } });
    expect(ok.schedule[1]!.lr).toBe(2e-4);
  });

  test('a reinitialization directive in phase 0', async () => {
    for (const key of ['newOptimizer', 'new_lr_schedule']) {
      const message = await refusal({ 0: { params: ['l3/.*'], [key]: { lr: 1 } }, 1: { params: ['l2/.*'] } });
      expect(message).toContain(
        `You have specified a ${key === 'newOptimizer' ? 'newOptimizer' : 'newLrSchedule'} reinitialization directive for the initial training phase, which is an invalid configuration`,
      );
    }
  });

  test('epochTransitionsOnly without maxTransitionEpoch on the transitioning phases', async () => {
    expect(
      await refusal(
        {
          0: { params: ['l3/.*'], maxTransitionEpoch: 1 },
          1: { params: ['l2/.*'] },
          2: { params: ['l1/.*'] },
          3: { params: ['l0/.*'] },
        },
        { epochTransitionsOnly: true },
      ),
    ).toContain('epochTransitionsOnly specified but some phases (1, 2) are missing a maxTransitionEpoch.');
    // the implicit schedule has none
    expect(await refusal(undefined, { epochTransitionsOnly: true })).toContain(
      'some phases (0, 1, 2) are missing',
    );
  });

  test('unknown keys, both spellings, FTS torch directives, bad params and transition epochs', async () => {
    expect(await refusal({ 0: { params: ['l3/.*'], max_transition_epochs: 2 } })).toContain(
      "phase 0 has an unknown key 'max_transition_epochs' (did you mean 'max_transition_epoch'?)",
    );
    expect(
      await refusal({ 0: { params: ['l3/.*'], maxTransitionEpoch: 1, max_transition_epoch: 1 } }),
    ).toContain('gives maxTransitionEpoch twice');
    expect(
      await refusal({
        0: { params: ['l3/.*'] },
        1: { params: ['l2/.*'], new_lr_scheduler: { lr_scheduler_init: {} } },
      }),
    ).toContain("FTS's torch lr-scheduler directive");
    expect(
      await refusal({
        0: { params: ['l3/.*'] },
        1: { params: ['l2/.*'], new_optimizer: { optimizer_init: {} } },
      }),
    ).toContain("FTS's optimizer_init");
    expect(await refusal({ 0: { params: [] } })).toContain('phase 0 needs params: a non-empty list');
    expect(await refusal({ 0: { params: ['l3/.*'], maxTransitionEpoch: 1.5 } })).toContain(
      'maxTransitionEpoch must be an integer',
    );
    expect(await refusal({ 0: { params: ['l3/('] } })).toContain(
      'is neither a weight name nor a valid regex',
    );
    expect(await refusal('0: [unclosed')).toContain('is not valid YAML');
    expect(await refusal(join(tempDir(), 'missing.yaml'))).toContain(
      'Could not find specified fine-tuning scheduling file',
    );
  });
});

describe('warnings', () => {
  test('an lr in phase 0 (ignored), a non-increasing transition epoch, weights in no phase', async () => {
    const { schedule, warnings } = await resolved({
      0: { params: ['l3/.*'], lr: 0.5, maxTransitionEpoch: 3 },
      1: { params: ['l2/.*'], maxTransitionEpoch: 2 },
      2: { params: ['l1/.*'] },
    });
    expect(schedule[0]!.lr).toBeUndefined();
    expect(warnings).toContain(
      'A lr for fine-tuning phase 0 has been specified (0.5). This lr will be overridden by the lr of the optimizer given to the Trainer.',
    );
    expect(warnings).toContain(
      'Specified maxTransitionEpoch of depth 1 (2) is less than or equal to a previous maxTransitionEpoch (3), depth may execute only a single epoch depending upon early stopping criteria.',
    );
    expect(warnings).toContain(
      '2 weights are in no phase and stay frozen for the whole run: l0/kernel, l0/bias. Add them to a phase if they should train.',
    );
  });

  test('none for a complete schedule', async () => {
    expect((await resolved(YAML)).warnings).toEqual([]);
  });
});

describe('options', () => {
  test('unknown keys name the closest valid one, at construction', () => {
    expect(() => finetuneScheduler({ max_depth: 1 } as never)).toThrow(
      /unknown option.*max_depth.*maxDepth/s,
    );
    expect(() => finetuneScheduler({ earlyStopping: { patient: 1 } } as never)).toThrow(/patient.*patience/s);
    expect(() => finetuneScheduler({ maxDepth: -2 })).toThrow('maxDepth must be an integer ≥ -1');
    expect(() => finetuneScheduler({ frozenBatchNorm: 'train' as never })).toThrow(
      "frozenBatchNorm must be 'inference' or 'track'",
    );
  });

  test('an explicit schedule is checked when the plugin is made', () => {
    expect(() => finetuneScheduler({ schedule: { 0: { params: ['x'] }, 2: { params: ['y'] } } })).toThrow(
      'non-contiguous',
    );
  });
});
