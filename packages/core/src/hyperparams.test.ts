import { describe, expect, it } from 'vitest';
import { isTensorloopError, type TensorloopErrorCode } from './errors.js';
import { formatHparam, HyperparamStore } from './hyperparams.js';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectCode(fn: () => unknown, code: TensorloopErrorCode): Error {
  const error = caught(fn);
  expect(isTensorloopError(error, code), String(error)).toBe(true);
  return error as Error;
}

/** A store as the trainer sets it up: adam hparams for two groups plus a user value. */
function store(): HyperparamStore {
  const s = new HyperparamStore();
  s.defineGroups([
    { name: 'head', hparams: { lr: 1e-3, beta1: 0.9, weightDecay: 0.01 } },
    { name: 'default', hparams: { lr: 1e-4, beta1: 0.9, weightDecay: 0.01 } },
  ]);
  s.define('lossWeight.aux', 0.5, { description: 'weight of the auxiliary loss' });
  return s;
}

describe('HyperparamStore', () => {
  it('reads base values per group and group-less user values; no group means the default group', () => {
    const s = store();
    expect(s.get('lr', { group: 'head' })).toBe(1e-3);
    expect(s.get('lr')).toBe(1e-4);
    expect(s.get('lossWeight.aux')).toBe(0.5);
    expect(s.names()).toEqual(['lr', 'beta1', 'weightDecay', 'lossWeight.aux']);
    expect(s.groups()).toEqual(['head', 'default']);
  });

  it('refuses a second set writer of the same value, naming both plugins and the fix', () => {
    const s = store();
    s.declareWriter({ plugin: '@tensorloop/lr-schedules', name: 'lr', mode: 'set' });
    const error = expectCode(
      () => s.declareWriter({ plugin: 'my-warmup', name: 'lr', mode: 'set', groups: ['head'] }),
      'TL_HPARAM_CONFLICT',
    );
    expect(error.message).toContain('@tensorloop/lr-schedules');
    expect(error.message).toContain('my-warmup');
    expect(error.message).toMatch(/multiply/);
    // Disjoint groups do not conflict; multiply writers never do; re-declaring is idempotent.
    const t = store();
    t.declareWriter({ plugin: 'a', name: 'lr', mode: 'set', groups: ['head'] });
    t.declareWriter({ plugin: 'b', name: 'lr', mode: 'set', groups: ['default'] });
    t.declareWriter({ plugin: 'c', name: 'lr', mode: 'multiply' });
    t.declareWriter({ plugin: 'd', name: 'lr', mode: 'multiply' });
    t.declareWriter({ plugin: 'a', name: 'lr', mode: 'set', groups: ['head'] });
    expect(t.writers('lr').map((w) => w.plugin)).toEqual(['a', 'b', 'c', 'd']);
    expectCode(() => t.declareWriter({ plugin: 'c', name: 'lr', mode: 'set' }), 'TL_HPARAM_CONFLICT');
  });

  it('composes multiply writers on top of the latest set value (or the base)', () => {
    const s = store();
    s.declareWriter({ plugin: '@tensorloop/lr-schedules', name: 'lr', mode: 'set' });
    s.declareWriter({ plugin: 'warmup', name: 'lr', mode: 'multiply' });
    s.declareWriter({ plugin: 'plateau', name: 'lr', mode: 'multiply', groups: ['head'] });
    s.set('lr', 0.5, { by: 'warmup' }); // every group
    expect(s.get('lr', { group: 'head' })).toBeCloseTo(5e-4, 12);
    expect(s.get('lr')).toBeCloseTo(5e-5, 12);
    s.set('lr', 0.3, { by: 'plateau', group: 'head' });
    expect(s.get('lr', { group: 'head' })).toBeCloseTo(1e-3 * 0.5 * 0.3, 12);
    expect(s.get('lr')).toBeCloseTo(5e-5, 12);
    s.set('lr', 2e-3, { by: '@tensorloop/lr-schedules', group: 'head' });
    expect(s.get('lr', { group: 'head' })).toBeCloseTo(2e-3 * 0.5 * 0.3, 12);
    s.set('lr', 1, { by: 'warmup' });
    expect(s.get('lr', { group: 'head' })).toBeCloseTo(2e-3 * 0.3, 12);
    // Other hyperparameters are untouched.
    expect(s.get('beta1', { group: 'head' })).toBe(0.9);
  });

  it('requires writers to be declared (except user), and to stay in their groups', () => {
    const s = store();
    const error = expectCode(() => s.set('lr', 1, { by: 'sneaky' }), 'TL_PLUGIN_INVALID');
    expect(error.message).toContain("declareWriter({ plugin: 'sneaky', name: 'lr'");
    s.declareWriter({ plugin: 'plateau', name: 'lr', mode: 'multiply', groups: ['head'] });
    expectCode(() => s.set('lr', 0.1, { by: 'plateau', group: 'default' }), 'TL_PLUGIN_INVALID');
    s.set('lossWeight.aux', 2, { by: 'user' });
    expect(s.get('lossWeight.aux')).toBe(2);
    expectCode(() => s.set('lr', Number.NaN, { by: 'user' }), 'TL_OPTION_INVALID');
    expectCode(() => s.declareWriter({ plugin: 'user', name: 'lr', mode: 'set' }), 'TL_OPTION_INVALID');
  });

  it('explains a value as the chain of its contributions', () => {
    const s = store();
    s.declareWriter({ plugin: '@tensorloop/lr-schedules', name: 'lr', mode: 'set' });
    s.declareWriter({ plugin: 'plateau', name: 'lr', mode: 'multiply' });
    expect(s.explain('lr', { group: 'head' }).text).toBe('lr(group head) = 1e-3 (base)');
    s.set('lr', 1e-3, { by: '@tensorloop/lr-schedules', group: 'head' });
    s.set('lr', 0.3, { by: 'plateau', group: 'head' });
    const explained = s.explain('lr', { group: 'head' });
    expect(explained.text).toBe(
      'lr(group head) = 3e-4 = 1e-3 (set by @tensorloop/lr-schedules) × 0.3 (multiply by plateau)',
    );
    expect(explained).toMatchObject({
      name: 'lr',
      group: 'head',
      base: 1e-3,
      set: { value: 1e-3, by: '@tensorloop/lr-schedules' },
      factors: [{ plugin: 'plateau', factor: 0.3 }],
    });
    expect(explained.value).toBeCloseTo(3e-4, 12);
    expect(s.explain('lossWeight.aux')).toMatchObject({
      text: 'lossWeight.aux = 0.5 (base)',
      description: 'weight of the auxiliary loss',
      group: undefined,
    });
    expect(s.explain('lr').text).toBe('lr(group default) = 1e-4 (base)');
    expect([formatHparam(0.0003), formatHparam(0.3), formatHparam(250000), formatHparam(0)]).toEqual([
      '3e-4',
      '0.3',
      '2.5e5',
      '0',
    ]);
  });

  it('reports unknown names with the known ones, and unknown groups with the existing ones', () => {
    const s = store();
    const error = expectCode(() => s.get('lossWeight.main'), 'TL_HPARAM_UNKNOWN');
    expect(error.message).toContain('lossWeight.aux');
    expect(error.message).toContain('lr');
    expect(expectCode(() => s.get('lr', { group: 'body' }), 'TL_HPARAM_UNKNOWN').message).toContain(
      'head, default',
    );
    expectCode(() => s.get('lossWeight.aux', { group: 'head' }), 'TL_HPARAM_UNKNOWN');
    expectCode(() => s.explain('momentum'), 'TL_HPARAM_UNKNOWN');
    expectCode(() => s.set('momentum', 0.9, { by: 'user' }), 'TL_HPARAM_UNKNOWN');
    expectCode(() => s.define('lr', 1), 'TL_HPARAM_CONFLICT'); // per-group name defined without a group
  });

  it('round-trips its state through JSON, keeping the current base and defining groups added at runtime', () => {
    const s = store();
    s.declareWriter({ plugin: 'sched', name: 'lr', mode: 'set' });
    s.declareWriter({ plugin: 'plateau', name: 'lr', mode: 'multiply' });
    s.define('lr', 1e-5, { group: 'thawed' });
    s.set('lr', 3e-3, { by: 'sched', group: 'head' });
    s.set('lr', 0.1, { by: 'plateau' });
    s.set('lossWeight.aux', 0.25, { by: 'user' });
    const json = JSON.parse(JSON.stringify(s.getState()));

    const t = store();
    t.declareWriter({ plugin: 'sched', name: 'lr', mode: 'set' });
    t.setState(json);
    // The plateau writer registers after the restore: its saved factor applies once declared.
    expect(t.get('lr')).toBeCloseTo(1e-4, 12);
    t.declareWriter({ plugin: 'plateau', name: 'lr', mode: 'multiply' });
    for (const group of ['head', 'default', 'thawed']) {
      expect(t.get('lr', { group })).toBeCloseTo(s.get('lr', { group }), 12);
      expect(t.explain('lr', { group }).text).toBe(s.explain('lr', { group }).text);
    }
    expect(t.get('lossWeight.aux')).toBe(0.25);
    expect(t.groups()).toEqual(['head', 'default', 'thawed']);
    expectCode(() => t.setState({ format: 'nope' } as never), 'TL_CHECKPOINT_INVALID');
  });

  it('writes effective values into optimizer groups and counts versions', () => {
    const s = new HyperparamStore();
    const groups = [
      { name: 'head', hparams: { lr: 1e-3, momentum: 0.9 } },
      { name: 'default', hparams: { lr: 1e-2, momentum: 0.9 } },
    ];
    s.defineGroups(groups);
    s.declareWriter({ plugin: 'warmup', name: 'lr', mode: 'multiply' });
    const v = s.version;
    s.set('lr', 0.5, { by: 'warmup' });
    expect(s.version).toBeGreaterThan(v);
    s.applyToGroups(groups);
    expect(groups.map((g) => g.hparams.lr)).toEqual([5e-4, 5e-3]);
    expect(groups[0]!.hparams.momentum).toBe(0.9);
    // Re-defining from groups does not overwrite bases with the effective values written into them.
    s.defineGroups(groups);
    expect(s.explain('lr', { group: 'head' }).base).toBe(1e-3);
  });
});
